"""The layer table of a CNN: :mod:`dlf.runs.layer_table`, which serves every model of dlf.

``summary(model, (1, 3, 224, 224))`` -> one row per layer call (output shape, parameters,
multiply-adds); ``format_summary(rows, model)`` -> the table with totals.
"""

from dlf.runs.layer_table import SummaryRow, format_summary, layer_macs, summary

__all__ = ["SummaryRow", "format_summary", "layer_macs", "summary"]
