"""A torchinfo-style layer table: output shape, parameters and multiply-adds of every layer.

One traced forward pass (:func:`dlf.runs.trace.trace`): a row per call of a leaf module (a
module without children) and per matrix product that a module's own code computes (attention's
``q k^T`` and ``a v``), in call order. Multiply-adds (MACs) by the rules of
:mod:`dlf.runs.trace`; for a language model, MACs per token = MACs of the pass / its tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from dlf.runs.trace import Call, Op, layer_macs, trace

__all__ = ["SummaryRow", "format_summary", "layer_macs", "rows_of", "summary"]


@dataclass(frozen=True)
class SummaryRow:
    """One call of one leaf module, or one matrix product (``type`` "matmul" or
    "scaled_dot_product_attention"). ``params`` counts each parameter at its first call
    only (a reused module or a tied weight once), so the column sums to the model's total."""

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int


def rows_of(root: Call) -> list[SummaryRow]:
    """The rows of a traced pass: leaf-module calls, and the ops that multiply-add."""
    rows = []
    for event in root.walk():
        if isinstance(event, Call) and event.leaf:
            name = event.name or "(model)"
            rows.append(SummaryRow(name, event.type, event.shape, event.params, event.macs))
        elif isinstance(event, Op) and event.macs:
            rows.append(SummaryRow(event.caller.name, event.name, event.shape, 0, event.macs))
    return rows


def summary(
    model: nn.Module, input_shape: Sequence[int], dtype: torch.dtype = torch.float32
) -> list[SummaryRow]:
    """Rows (name, type, output shape, parameters, MACs) of every leaf-module call and every
    matrix product of a module's own code, in call order (:func:`rows_of`).

    ``input_shape`` includes the batch dimension, e.g. ``(1, 3, 224, 224)``; MACs are for that
    whole batch. Integer ``dtype`` (token ids) feeds zeros of that type. The model runs once in
    eval mode without gradients (batch norm on a batch of one needs running statistics), on the
    device of its parameters, and is put back in its former mode afterwards.
    """
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    x = torch.zeros(tuple(input_shape), dtype=dtype, device=device)
    return rows_of(trace(model, x))


def format_summary(
    rows: Sequence[SummaryRow], model: nn.Module | None = None, tokens: int | None = None
) -> str:
    """The rows of :func:`summary` as a table with totals.

    With ``model``, the totals count each parameter of the model once (parameters of non-leaf
    modules included) and give the trainable ones; without it, the column sums. With
    ``tokens`` (the tokens of the pass), the multiply-adds are per token.
    """
    per = tokens or 1
    macs_head = "Mult-adds/token" if tokens else "Mult-adds"
    table = [("Layer", "Type", "Output shape", "Params", macs_head)]
    for row in rows:
        shape = "x".join(str(n) for n in row.output_shape) if row.output_shape else "-"
        table.append((row.name, row.type, shape, f"{row.params:,}", _count(row.macs / per)))
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    lines = [
        "  ".join(
            text.ljust(width) if i < 2 else text.rjust(width)
            for i, (text, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    rule = "-" * len(lines[0])
    lines.insert(1, rule)
    if model is not None:
        unique = {id(p): p for p in model.parameters()}.values()
        total = sum(p.numel() for p in unique)
        trainable = sum(p.numel() for p in unique if p.requires_grad)
    else:
        total = trainable = sum(row.params for row in rows)
    macs = sum(row.macs for row in rows)
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}"]
    scaled = macs / per
    scaled_text = f"{scaled / 1e9:.3f} G" if scaled >= 1e8 else f"{scaled / 1e6:.3f} M"
    if tokens:
        lines.append(
            f"Total mult-adds per token: {_count(scaled)} ({scaled_text}) over {tokens:,} tokens"
        )
    else:
        lines.append(f"Total mult-adds: {macs:,} ({scaled_text})")
    return "\n".join(lines)


def _count(value: float) -> str:
    """``1234.0`` -> ``"1,234"``, ``2.5`` -> ``"2.5"``."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
