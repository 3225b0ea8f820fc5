"""Measured figures, in one data file: ``measured.json`` beside this module.

Every wall time and every figure behind a named setting is written here by a command, with the
machine it was measured on, and read from here: never typed into code or docstrings.

- ``dlf measure NAME [--quick | --setting S]`` runs recipes and records, per recipe and setting,
  the run's seconds, its final figures and its effects (``dlf list`` and ``dlf run NAME --help``
  show the seconds; a quick run's report shows the full setting's effects beside its own).
- ``dlf bench NAME --record`` records a benchmark's rows and ratio.

Each record carries ``machine``: the CPU model, the 1-minute load average when it started, the
NumPy and PyTorch versions and the UTC date. The file maps
``{"recipes": {name: {setting: record}}, "bench": {name: record}}``; ``setting`` is ``quick``,
``full`` or a named setting.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dlf.bench import cpu_model, load_average
from dlf.runs.atomic import atomic_write_json

MEASURED = Path(__file__).with_name("measured.json")


def machine(load: float | None = None) -> dict[str, Any]:
    """Where and when a figure is measured: CPU, load, library versions, UTC date.

    ``load`` is the load average read when the work started (now, if not given). Example:
    ``{"cpu": "AMD EPYC 7B13 (2 CPUs)", "load": 0.4, "numpy": "2.1.3", "torch": "2.13.0",
    "date": "2026-11-27"}``; ``torch`` is None where torch was not imported.
    """
    import numpy

    torch = sys.modules.get("torch")
    return {
        "cpu": cpu_model(),
        "load": round(load_average() if load is None else load, 2),
        "numpy": numpy.__version__,
        "torch": getattr(torch, "__version__", None),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def load(path: Path | None = None) -> dict[str, Any]:
    """The whole data file (empty sections if it does not exist yet)."""
    path = path or MEASURED
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {"recipes": data.get("recipes", {}), "bench": data.get("bench", {})}


def recipe_record(name: str, setting: str, path: Path | None = None) -> dict[str, Any] | None:
    """The record of recipe ``name`` run in ``setting`` (``quick``, ``full`` or a named one)."""
    return load(path)["recipes"].get(name, {}).get(setting)


def full_effects(name: str, path: Path | None = None) -> dict[str, str]:
    """``{claim: "✓ figure (date, CPU)"}`` of the full setting's recorded effects."""
    record = recipe_record(name, "full", path)
    if record is None:
        return {}
    where = f"{record['machine']['date']}, {record['machine']['cpu']}"
    return {
        e["claim"]: f"{'✓' if e['shown'] else '✗'} {e['figure']} ({where})"
        for e in record.get("effects", [])
    }


def record_recipe(
    name: str, setting: str, summary: dict[str, Any], load_before: float, path: Path | None = None
) -> dict[str, Any]:
    """Store a finished run's seconds, final figures and effects; returns the record."""
    figures = {
        k: v
        for k, v in summary.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "seconds"
    }
    record = {
        "seconds": summary["seconds"],
        "status": summary["status"],
        "figures": figures,
        "effects": summary.get("effects", []),
        "machine": machine(load_before),
    }
    data = load(path)
    data["recipes"].setdefault(name, {})[setting] = record
    atomic_write_json(path or MEASURED, data)
    return record


def record_bench(name: str, report: Any, load_before: float, path: Path | None = None) -> None:
    """Store a benchmark's rows (what, value, unit), its ratio and target."""
    data = load(path)
    data["bench"][name] = {
        "rows": [list(row) for row in report.rows],
        "ratio": report.ratio,
        "ratio_of": report.ratio_of,
        "target": report.target,
        "machine": machine(load_before),
    }
    atomic_write_json(path or MEASURED, data)


__all__ = [
    "MEASURED",
    "full_effects",
    "load",
    "machine",
    "recipe_record",
    "record_bench",
    "record_recipe",
]
