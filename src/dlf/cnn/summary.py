"""A torchinfo-style layer table: output shape, parameters and multiply-adds of every layer.

One forward pass of a zero input through the model, with a forward hook on every leaf module
(a module without children). Multiply-adds (MACs) of the whole input batch:

    Conv2d: MACs = (elements of the output) * (in_channels / groups) * kh * kw
    Linear: MACs = (elements of the output) * in_features
    other layers: 0 (their cost is small next to these, and not a multiply-add)

Bias additions are not counted; FLOPs ~ 2 * MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SummaryRow:
    """One call of one leaf module. ``params`` counts its parameters on its first call only."""

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one call of ``module`` that produced ``output`` (rules in module doc).

    Example: ``Conv2d(3, 8, 3)`` giving an output (1, 8, 30, 30): ``7200 * 3 * 3 * 3 = 194400``.
    """
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _first_tensor(output: object) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    return None


def summary(
    model: nn.Module, input_shape: Sequence[int], dtype: torch.dtype = torch.float32
) -> list[SummaryRow]:
    """Rows (name, type, output shape, parameters, MACs) of every leaf-module call, in call order.

    ``input_shape`` includes the batch dimension, e.g. ``(1, 3, 224, 224)``; MACs are for that
    whole batch. Integer ``dtype`` (token ids) feeds zeros of that type. The model runs once in
    eval mode without gradients (batch norm on a batch of one needs running statistics), on the
    device of its parameters, and is put back in its former mode afterwards.
    """
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    x = torch.zeros(tuple(input_shape), dtype=dtype, device=device)
    names = {module: name for name, module in model.named_modules()}
    seen: set[int] = set()
    rows: list[SummaryRow] = []

    def hook(module: nn.Module, _inputs: object, output: object) -> None:
        params = 0
        if id(module) not in seen:
            seen.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False))
        tensor = _first_tensor(output)
        shape = tuple(tensor.shape) if tensor is not None else None
        macs = layer_macs(module, tensor) if tensor is not None else 0
        rows.append(
            SummaryRow(names[module] or "(model)", type(module).__name__, shape, params, macs)
        )

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.train(training)
    return rows


def format_summary(rows: Sequence[SummaryRow], model: nn.Module | None = None) -> str:
    """The rows of :func:`summary` as a table with totals.

    With ``model``, the totals count each parameter of the model once (tied or non-leaf
    parameters included) and give the trainable ones; without it, the column sums.
    """
    table = [("Layer", "Type", "Output shape", "Params", "Mult-adds")]
    for row in rows:
        shape = "x".join(str(n) for n in row.output_shape) if row.output_shape else "-"
        table.append((row.name, row.type, shape, f"{row.params:,}", f"{row.macs:,}"))
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
    lines += [
        rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Total mult-adds: {macs:,} ({macs / 1e9:.3f} G)",
    ]
    return "\n".join(lines)
