"""A run directory per experiment: ``<root>/<recipe>/<UTC timestamp>/``.

It holds ``config.json``, ``metrics.jsonl`` (one JSON object per logged step), ``summary.json``,
PNG plots and ``report.html``. Every file is written whole: JSON and PNG files atomically, each
metrics line in one write, so a run stopped at any moment leaves only complete files.
"""

from __future__ import annotations

import dataclasses
import html
import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from matplotlib.figure import Figure
from tqdm import tqdm

from dlf.runs.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable
from dlf.runs.plots import to_png
from dlf.runs.report import Report

T = TypeVar("T")


def utc_timestamp() -> str:
    """Now in UTC as a sortable folder name, e.g. ``20261124-233045``."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


class RunDir:
    """The folder of one run, with the logger, the plots and the report that go in it.

    ``log(step, **metrics)`` appends a line to metrics.jsonl; ``figure``/``table``/``text`` add
    to the report; ``effect`` records what the run shows, checked; ``finish(summary)`` writes
    summary.json and report.html.
    """

    def __init__(self, path: Path, recipe: str, config: Any, quiet: bool = False):
        self.path = Path(path)
        self.recipe = recipe
        self.config = config
        self.quiet = quiet
        self.report = Report(f"{recipe} — {self.path.name}")
        self.history: list[dict[str, Any]] = []
        self.effects: list[dict[str, Any]] = []
        self.full_figures: dict[str, str] = {}  # claim -> the full setting's figure, if measured
        self.started = time.time()
        self.path.mkdir(parents=True, exist_ok=True)
        config_dict = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
        self.config_dict = to_jsonable(config_dict or {})
        atomic_write_json(self.path / "config.json", {"recipe": recipe, **self.config_dict})
        self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    @classmethod
    def create(cls, root: str | Path, recipe: str, config: Any, quiet: bool = False) -> RunDir:
        """A new, empty ``<root>/<recipe>/<UTC timestamp>[-k]/``, never shared with another run.

        The folder is claimed by ``mkdir`` itself (it fails if the folder exists), so of several
        processes starting in the same second each gets its own: ``20261127-150710``, then
        ``20261127-150710-2``, ``-3``, ...
        """
        base = Path(root) / recipe / utc_timestamp()
        base.parent.mkdir(parents=True, exist_ok=True)
        path, k = base, 1
        while True:
            try:
                path.mkdir(exist_ok=False)
                break
            except FileExistsError:
                k += 1
                path = base.with_name(f"{base.name}-{k}")
        return cls(path, recipe, config, quiet)

    # ----- metrics and progress -----
    def log(self, step: int, **metrics: Any) -> None:
        """Append ``{"step": step, **metrics}`` to metrics.jsonl (one whole line, flushed)."""
        record = to_jsonable({"step": step, **metrics})
        self.history.append(record)
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()

    def series(self, key: str, where: dict[str, Any] | None = None) -> tuple[list, list]:
        """``(steps, values)`` of ``key`` over the logged records matching ``where``."""
        where = where or {}
        rows = [
            r for r in self.history if key in r and all(r.get(k) == v for k, v in where.items())
        ]
        return [r["step"] for r in rows], [r[key] for r in rows]

    def progress(
        self, iterable: Iterable[T], total: int | None = None, desc: str = ""
    ) -> Iterator[T]:
        """A tqdm bar on a terminal; silent when not a TTY or when quiet."""
        disable = self.quiet or not sys.stderr.isatty()
        return iter(tqdm(iterable, total=total, desc=desc, disable=disable, leave=False))

    def say(self, message: str) -> None:
        """A line of progress for the person watching (stderr), unless quiet."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    # ----- what the run shows -----
    def effect(self, claim: str, shown: bool, figure: str) -> bool:
        """Record whether this run shows ``claim``, in a learner's words, and the figure behind it.

        Example: ``effect("with batch norm the loss ends lower than without", 0.31 < 0.52,
        "loss 0.31 with, 0.52 without")``. The report opens with each claim marked ✓ or ✗, and
        ``summary.json`` holds them under ``effects``; returns ``shown``.
        """
        self.effects.append({"claim": claim, "shown": bool(shown), "figure": figure})
        return bool(shown)

    def _effects_html(self, page: Report) -> None:
        page.heading("What this run shows")
        full = [self.full_figures.get(e["claim"]) for e in self.effects]
        rows = []
        for e, full_figure in zip(self.effects, full, strict=True):
            mark = '<span class="ok">✓</span>' if e["shown"] else '<span class="bad">✗</span>'
            cells = [e["claim"], e["figure"]] + ([full_figure or ""] if any(full) else [])
            rows.append([mark, *(html.escape(t) for t in cells)])
        headers = ["", "claim", "this run"] + (["full setting"] if any(full) else [])
        page.table(headers, rows, raw_html=True)

    # ----- report content -----
    def figure(self, name: str, fig: Figure, caption: str = "") -> Path:
        """Save ``fig`` as ``<name>.png`` (atomically) and put it in the report."""
        png = to_png(fig)
        self.report.image(png, caption or name)
        return atomic_write_bytes(self.path / f"{name}.png", png)

    def table(self, title: str, headers: list[str], rows: list[list[Any]]) -> None:
        self.report.heading(title)
        self.report.table(headers, rows)

    def text(self, title: str, body: str, pre: bool = False) -> None:
        self.report.heading(title)
        self.report.text(body, pre=pre)

    # ----- the end -----
    def finish(self, summary: dict[str, Any], status: str = "completed") -> dict[str, Any]:
        """Write summary.json and report.html; returns the summary as written."""
        self._metrics.close()
        full = {
            "recipe": self.recipe,
            "status": status,
            "seconds": round(time.time() - self.started, 2),
            **to_jsonable(summary),
        }
        if self.effects:
            full["effects"] = self.effects
            shown = sum(e["shown"] for e in self.effects)
            full["effects_shown"] = f"{shown} of {len(self.effects)}"
        atomic_write_json(self.path / "summary.json", full)
        page = Report(self.report.title)
        if self.effects:
            self._effects_html(page)
        page.heading("Summary")
        page.mapping({k: v for k, v in full.items() if k != "effects"})
        page.sections += self.report.sections
        page.heading("Configuration")
        page.mapping(self.config_dict)
        atomic_write_text(self.path / "report.html", page.render())
        return full
