"""``dlf path``: every built module's recipes in order, then the checkpoints, in one report."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

from dlf.path.checkpoint import CheckpointResult, run_checkpoint
from dlf.path.modules import MODULES, PathModule
from dlf.recipes import get_recipe, run_recipe
from dlf.runs import Diverged, RunDir


def run_checkpoints(modules: list[int] | None = None) -> list[CheckpointResult]:
    """Run the checkpoints of the chosen modules (all by default), in path order.

    A module that is not built yet (its recipes or its checkpoints missing) gives one row with
    status "not built yet", even if some of its checks exist already.
    """
    results = []
    for m in _chosen(modules):
        if not m.built:
            results.append(CheckpointResult(m.number, "—", m.title, "not built yet", "", 0.0))
            continue
        results += [run_checkpoint(cp) for cp in m.load_checkpoints()]
    return results


def format_checkpoints(results: list[CheckpointResult]) -> str:
    """The checkpoint table as aligned text: module, checkpoint, ✓/✗, evidence."""
    width = max([len(r.name) for r in results] + [10])
    lines = [f"{'module':<7} {'checkpoint':<{width}} {'':<3} evidence"]
    for r in results:
        verdict = r.mark if r.status != "not built yet" else "not built yet"
        lines.append(f"{r.module:<7} {r.name:<{width}} {verdict:<3} {r.figure}")
    passed = sum(r.status == "pass" for r in results)
    lines.append(f"{passed} passed, {sum(r.status == 'fail' for r in results)} failed")
    return "\n".join(lines)


def _chosen(modules: list[int] | None) -> list[PathModule]:
    return [m for m in MODULES if modules is None or m.number in modules]


def run_path(
    quick: bool = False,
    modules: list[int] | None = None,
    runs_dir: str | Path = "runs",
    quiet: bool = False,
    sections: list[Callable[[RunDir], dict]] = (),
) -> tuple[RunDir, dict]:
    """Run each chosen module's recipes (quick or full), then its checkpoints; one report.

    A recipe that fails, diverges, or does not show an effect it states is a failed row (and
    in ``recipes_failed``), and the path goes on. Each row shows the recipe's effects with ✓ or
    ✗, the full setting's where measured, and its first figures. The report links each
    recipe's own report. Each of ``sections`` adds to the report after the checkpoints and
    returns figures for the summary (``dlf path --workspace`` adds the learner's code this way).
    """
    path_dir = RunDir.create(runs_dir, "path", {"quick": quick, "modules": modules}, quiet)
    rows, failed, not_shown = [], [], {}
    for m in _chosen(modules):
        if not m.built:
            rows.append([m.number, "—", "not built yet", "", "", ""])
            continue
        for name in m.recipes:
            recipe = get_recipe(name)
            path_dir.say(f"module {m.number}: {name} ({'quick' if quick else 'full'})")
            try:
                run_dir, summary = run_recipe(recipe, recipe.make_config(quick), runs_dir, quiet)
            except Exception as err:  # the path goes on; the row says what stopped this one
                failed.append(name)
                diverged = isinstance(err, Diverged)
                reason = str(err) if diverged else f"{type(err).__name__}: {err}"
                status = "diverged" if diverged else "failed"
                rows.append([m.number, name, status, _esc(reason), "", ""])
                continue
            missed = [e["claim"] for e in summary.get("effects", []) if not e["shown"]]
            status = summary["status"] if not missed else "effect not shown"
            if missed:
                failed.append(name)
                not_shown[name] = missed
            link = os.path.relpath(run_dir.path / "report.html", path_dir.path)
            shows = _effects_html(summary.get("effects", []), run_dir.full_figures)
            figures = _esc(headline(summary))
            rows.append([m.number, name, status, shows, figures, f'<a href="{link}">report</a>'])
    path_dir.report.heading("Recipes")
    path_dir.report.table(
        ["module", "recipe", "status", "what it shows", "figures", "report"],
        [[_esc(r[0]), _esc(r[1]), _status_html(r[2]), *r[3:]] for r in rows],
        raw_html=True,
    )
    results = run_checkpoints(modules)
    path_dir.report.heading("Checkpoints")
    path_dir.report.table(
        ["module", "checkpoint", "", "evidence", "claim"],
        [[r.module, _esc(r.name), _mark_html(r), _esc(r.figure), _esc(r.claim)] for r in results],
        raw_html=True,
    )
    extra = {k: v for section in sections for k, v in section(path_dir).items()}
    summary = {
        **extra,
        "recipes_run": sum(r[2] != "not built yet" for r in rows),
        "recipes_failed": failed,
        "effects_not_shown": not_shown,
        "modules_not_built": [m.number for m in _chosen(modules) if not m.built],
        "checkpoints_passed": sum(r.status == "pass" for r in results),
        "checkpoints_failed": [r.name for r in results if r.status == "fail"],
    }
    return path_dir, path_dir.finish(summary)


def _esc(value: object) -> str:
    return html.escape(str(value))


def headline(summary: dict, count: int = 4) -> str:
    """The first ``count`` scalar figures of a summary, numbers to 4 significant digits.

    Lists, tables and the bookkeeping keys are left to the recipe's own report. Example:
    ``{"test_accuracy": 0.981234567, "epochs": 20, "curve": [...]}`` ->
    ``"test_accuracy 0.9812, epochs 20"``.
    """
    skip = {"recipe", "status", "seconds", "effects", "effects_shown"}
    cells = []
    for key, value in summary.items():
        if key in skip or isinstance(value, list | dict | tuple):
            continue
        if isinstance(value, float):
            cells.append(f"{key} {value:.4g}")
        elif isinstance(value, bool):
            cells.append(f"{key} {'yes' if value else 'no'}")
        elif isinstance(value, int) or (isinstance(value, str) and len(value) <= 40):
            cells.append(f"{key} {value}")
        if len(cells) == count:
            break
    return ", ".join(cells)


def _effects_html(effects: list[dict], full: dict[str, str]) -> str:
    """Each claim with ✓ or ✗ and this run's figure, and the full setting's where measured."""
    lines = []
    for e in effects:
        mark = '<span class="ok">✓</span>' if e["shown"] else '<span class="bad">✗</span>'
        text = f"{e['claim']}: {e['figure']}"
        if e["claim"] in full:
            text += f" (full setting: {full[e['claim']]})"
        lines.append(f"{mark} {_esc(text)}")
    return "<br>".join(lines) or '<span class="muted">states no effect</span>'


def _status_html(status: str) -> str:
    css = {"completed": "ok", "not built yet": "muted"}.get(status, "bad")
    return f'<span class="{css}">{_esc(status)}</span>'


def _mark_html(r: CheckpointResult) -> str:
    css = {"pass": "ok", "fail": "bad"}.get(r.status, "muted")
    text = r.mark if r.status in ("pass", "fail") else r.status
    return f'<span class="{css}">{text}</span>'
