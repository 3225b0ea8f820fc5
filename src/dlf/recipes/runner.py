"""Running a recipe into a run directory, and sweeping a grid of overrides."""

from __future__ import annotations

import itertools
import json
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from dlf.bench.measured import full_effects
from dlf.data import dataset_files
from dlf.recipes.config import (
    ConfigError,
    apply_overrides,
    check_ranges,
    field_types,
    parse_overrides,
)
from dlf.recipes.recipe import Recipe
from dlf.runs import Diverged, RunDir, line_plot
from dlf.runs.threads import run_threads, use_threads


def is_main_process() -> bool:
    """False on the ranks other than 0 of a ``torchrun`` launch (``RANK`` set), else True."""
    return int(os.environ.get("RANK", "0")) == 0


def run_recipe(
    recipe: Recipe,
    config: Any,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
    resume: str | Path | None = None,
) -> tuple[RunDir, dict[str, Any]]:
    """Run ``recipe`` with ``config`` in a new run directory; returns it and the summary.

    ``resume``: the run directory of an earlier run of the recipe (config from
    :func:`resume_config`), which the run goes on in instead of a new one.

    Every field is checked against its range, data sets are found, and the recipe's
    ``preflight`` checks the rest of its input, so bad input stops the run before any folder is
    made. The run uses as many threads as there are cores free when it starts
    (:func:`dlf.runs.threads.run_threads`), unless the recipe sets its own.

    A :class:`dlf.runs.Diverged` raised by the run closes the folder with ``status: diverged``,
    the message and the weights files the recipe kept, and is raised again. On Ctrl-C or
    SIGTERM (see :class:`SigtermAsInterrupt`) the run directory is closed with ``status:
    interrupted``, the signal and the weights files present, and KeyboardInterrupt is raised
    again (``dlf run`` then exits 130 for either); on an error, with ``status: failed`` and the
    error. Under ``torchrun`` (``RANK`` set), rank 0 alone makes a run directory; the other
    ranks run in a temporary one that is deleted at the end.
    """
    check_ranges(config)
    try:
        threads = run_threads()
    except ValueError as err:  # a bad DLF_THREADS
        raise ConfigError(str(err)) from None
    for name in recipe.datasets(config):
        dataset_files(name)
    if recipe.preflight is not None:
        recipe.preflight(config)
    if not is_main_process():
        with tempfile.TemporaryDirectory(prefix=f"dlf-rank{os.environ['RANK']}-") as scratch:
            run_dir = RunDir.create(scratch, recipe.name, config, quiet=True)
            return run_dir, run_dir.finish(recipe.run(config, run_dir))
    with SigtermAsInterrupt() as sigterm, use_threads(threads):
        if resume is not None:
            run_dir = RunDir(Path(resume), recipe.name, config, quiet=quiet)
        else:
            run_dir = RunDir.create(runs_dir, recipe.name, config, quiet=quiet)
        run_dir.full_figures = full_effects(recipe.name)
        try:
            summary = recipe.run(config, run_dir)
        except KeyboardInterrupt:
            sigterm.hold()
            last = run_dir.history[-1]["step"] if run_dir.history else None
            run_dir.finish(
                {
                    "interrupted_after_step": last,
                    "interrupted_by": "SIGTERM" if sigterm.received else "Ctrl-C (SIGINT)",
                    "weights_files": weights_files(run_dir.path),
                },
                status="interrupted",
            )
            raise
        except Diverged as err:
            sigterm.hold()
            run_dir.finish(
                {
                    "diverged": str(err),
                    "weights_files": weights_files(run_dir.path),
                },
                status="diverged",
            )
            raise
        except Exception as err:
            sigterm.hold()
            run_dir.finish({"error": f"{type(err).__name__}: {err}"}, status="failed")
            raise
        sigterm.hold()
        return run_dir, run_dir.finish(summary)


def weights_files(folder: Path) -> list[str]:
    """The safetensors files in ``folder`` and its subfolders, relative to it, sorted.
    Example: ``["checkpoint/model-0000040.safetensors", "model.safetensors"]``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.safetensors"))


def resume_config(recipe: Recipe, folder: str | Path, overrides: dict[str, str]) -> Any:
    """The config to resume the run in ``folder`` with: its own, then ``overrides``.

    Raises ConfigError if ``folder`` is not a run of ``recipe``, if the recipe cannot resume,
    or if an override changes one of ``recipe.resume_keeps`` (the model or its data).
    Example: ``max_steps=4000`` resumes a run to train it longer; ``n_layer=6`` is refused.
    """
    folder = Path(folder)
    if not recipe.resume_keeps:
        raise ConfigError(f"{recipe.name} cannot resume a run (--resume)")
    try:
        saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"--resume {folder}: not a run folder (no readable config.json)"
        ) from None
    if not isinstance(saved, dict) or saved.get("recipe") != recipe.name:
        what = saved.get("recipe") if isinstance(saved, dict) else None
        raise ConfigError(f"--resume {folder}: a run of {what!r}, not of {recipe.name}")
    types_ = field_types(recipe.config)
    own = {}
    for key, value in saved.items():
        if key in types_:
            own[key] = tuple(value) if isinstance(value, list) else value
    try:
        config = apply_overrides(apply_overrides(recipe.config(), own), overrides)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"--resume {folder}: config.json: {err}") from None
    check_ranges(config)
    for key in recipe.resume_keeps:
        if key in own and getattr(config, key) != own[key]:
            raise ConfigError(
                f"--resume {folder}: {key}={getattr(config, key)!r} differs from the run's "
                f"{own[key]!r}, which would change the model; start a new run instead"
            )
    return config


class SigtermAsInterrupt:
    """Inside ``with``, SIGTERM ends the work as Ctrl-C does: KeyboardInterrupt in the main thread.

    After ``hold()`` (called when the run's last files are being written) a SIGTERM is only
    noted, so those files are written whole, and KeyboardInterrupt is raised on leaving the
    block instead; a SIGTERM after the first is ignored (SIGKILL still ends the process).
    ``received`` says whether a SIGTERM came. The handler that was there before is put back on
    leaving. Outside the main thread, where Python cannot set handlers, it does nothing.
    """

    def __init__(self) -> None:
        self.received = False
        self._armed = True
        self._old: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        first, self.received = not self.received, True
        if first and self._armed:
            self._armed = False
            raise KeyboardInterrupt("SIGTERM")

    def hold(self) -> None:
        """From now on a SIGTERM waits for the end of the block."""
        self._armed = False

    def __enter__(self) -> SigtermAsInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._handle)
            self._installed = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._old if self._old is not None else signal.SIG_DFL)
        if self.received and exc_type is None:  # it came while the last files were written
            raise KeyboardInterrupt("SIGTERM")


def split_alternatives(text: str) -> list[str]:
    """Sweep values at top-level commas; brackets group a tuple value.

    Example: ``"0.1,0.01"`` -> ``["0.1", "0.01"]``;
    ``"[512,256],[64]"`` -> ``["[512,256]", "[64]"]``.
    """
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def sweep_grid(pairs: list[str]) -> list[dict[str, str]]:
    """``["lr=0.1,0.01", "batch=32,64"]`` -> the 4 override dicts of the grid, in order."""
    grid = {k: split_alternatives(v) for k, v in parse_overrides(pairs).items()}
    if any(not values for values in grid.values()):
        raise ConfigError("every sweep key needs at least one value")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def sweep(
    recipe: Recipe,
    pairs: list[str],
    quick: bool = False,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
) -> RunDir:
    """Run every point of the grid, then one report: curves overlaid, final figures in a table.

    All configs are built (and so checked) before the first run starts. A run that fails or
    diverges does not stop the others (its own folder says why); the report covers the runs
    that finished and lists the others with their error, and :class:`SweepIncomplete` is then
    raised, after the report is written.
    """
    grid = sweep_grid(pairs)
    configs = [recipe.make_config(quick, point) for point in grid]
    labels = [", ".join(f"{k}={v}" for k, v in point.items()) for point in grid]
    results, failures = [], []
    for label, config in zip(labels, configs, strict=True):
        try:
            results.append((label, *run_recipe(recipe, config, runs_dir, quiet)))
        except Exception as err:  # Ctrl-C (KeyboardInterrupt) still ends the sweep
            first_line = (str(err).strip().splitlines() or [""])[0]
            failures.append([label, f"{type(err).__name__}: {first_line}"])
    sweep_dir = RunDir.create(
        Path(runs_dir) / "sweeps", recipe.name, {"grid": pairs, "quick": quick}
    )
    numeric = sorted(
        {k for _, rd, _ in results for r in rd.history for k, v in r.items()
         if k != "step" and isinstance(v, int | float)}
    )  # fmt: skip
    for key in numeric:
        series = {lab: rd.series(key) for lab, rd, _ in results}
        sweep_dir.figure(f"sweep_{key.replace('/', '_')}", line_plot(series, "step", key, key))
    finals = sorted({k for _, _, s in results for k, v in s.items() if isinstance(v, int | float)})
    rows = [
        [lab, f"{rd.path}/report.html", *[s.get(k, "") for k in finals]] for lab, rd, s in results
    ]
    sweep_dir.table("Final figures", ["overrides", "report", *finals], rows)
    if failures:
        sweep_dir.table("Runs that did not finish", ["overrides", "error"], failures)
    sweep_dir.finish(
        {"runs": [str(rd.path) for _, rd, _ in results], "runs_failed": dict(failures)}
    )
    if failures:
        label, error = failures[0]
        raise SweepIncomplete(
            f"{len(failures)} of {len(configs)} runs of the sweep did not finish (first: {label}: "
            f"{error}); the report of the {len(results)} that did: "
            f"{sweep_dir.path / 'report.html'}",
            sweep_dir,
        )
    return sweep_dir


class SweepIncomplete(Exception):
    """A sweep some of whose runs failed; ``sweep_dir`` holds the report of the others."""

    def __init__(self, message: str, sweep_dir: RunDir) -> None:
        super().__init__(message)
        self.sweep_dir = sweep_dir


__all__ = [
    "apply_overrides",
    "resume_config",
    "run_recipe",
    "split_alternatives",
    "sweep",
    "sweep_grid",
    "SweepIncomplete",
]
