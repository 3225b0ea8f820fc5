"""Run directories, metrics, plots and self-contained HTML reports."""

from dlf.runs.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable
from dlf.runs.diverged import Diverged, check_finite
from dlf.runs.plots import (
    attention_heatmap,
    image_grid,
    line_plot,
    new_figure,
    to_png,
    token_label,
)
from dlf.runs.report import Report
from dlf.runs.rundir import RunDir, utc_timestamp
from dlf.runs.weights import load_arrays, save_arrays

__all__ = [
    "Diverged",
    "Report",
    "attention_heatmap",
    "RunDir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_finite",
    "image_grid",
    "line_plot",
    "load_arrays",
    "new_figure",
    "save_arrays",
    "to_jsonable",
    "to_png",
    "token_label",
    "utc_timestamp",
]
