"""Receptive field, jump and start of every conv/pool layer of a network.

For a layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` (effective kernel
``k' = d (k - 1) + 1``), walking from the input (``r = 1``, ``j = 1``, ``start = 0``):

    r_out     = r_in + (k' - 1) * j_in          receptive field: input pixels seen by one feature
    j_out     = j_in * s                        jump: input pixels between adjacent features
    start_out = start_in + ((k' - 1)/2 - p) * j_in   input coordinate of the centre of feature 0
    n_out     = floor((n_in + 2p - k') / s) + 1  feature-map size (ceil for ceil_mode pools)

Feature ``i`` of a layer is centred on input pixel ``start + i * j`` and sees the ``r`` pixels
around it (pixels outside the image are padding). Layers are walked in the order their modules are
registered, which is the forward order of ``nn.Sequential`` and of every model in ``dlf.cnn``.
Shortcut branches (modules named ``downsample`` or ``shortcut``) are skipped: a residual block's
field is the union of its two paths, and the main path contains the shortcut's (same centre,
smaller extent), so the main path gives the block's field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

GEOMETRY_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
SKIPPED_BRANCHES = ("downsample", "shortcut")


@dataclass(frozen=True)
class ReceptiveFieldRow:
    """One layer of the table; the first row is the input (``kernel`` etc. are ``None`` there)."""

    name: str
    type: str
    kernel: int | None
    stride: int | None
    padding: int | None
    dilation: int | None
    size: int | None  # feature-map side; None when no input size was given
    jump: int
    receptive_field: int
    start: float


@dataclass(frozen=True)
class MeasuredField:
    """Input pixels (along one axis) whose value changes one output feature: ``first..last``."""

    first: int
    last: int

    @property
    def extent(self) -> int:
        return self.last - self.first + 1

    @property
    def centre(self) -> float:
        return (self.first + self.last) / 2


def conv_output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Side of the output of a conv/pool layer: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.

    Example: ``conv_output_size(224, 7, 2, 3) -> 112``; ``conv_output_size(28, 3, 2) -> 13``.
    """
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        raise ValueError(
            f"input of side {n} is smaller than the kernel ({kernel}, dilation {dilation}, "
            f"padding {padding}); use a larger input"
        )
    steps = math.ceil(span / stride) if ceil_mode else span // stride
    return steps + 1


def _square(value: int | tuple[int, ...], what: str, name: str) -> int:
    if isinstance(value, int):
        return value
    if len(set(value)) != 1:
        raise ValueError(
            f"layer {name!r} has a non-square {what} {tuple(value)}; receptive_field handles "
            "square kernels, strides, paddings and dilations only"
        )
    return int(value[0])


def layer_geometry(module: nn.Module, name: str = "") -> tuple[int, int, int, int] | None:
    """``(kernel, stride, padding, dilation)`` of a Conv2d/MaxPool2d/AvgPool2d, else ``None``.

    Example: ``layer_geometry(nn.MaxPool2d(2)) -> (2, 2, 0, 1)``.
    """
    if not isinstance(module, GEOMETRY_LAYERS):
        return None
    if isinstance(module.padding, str):
        raise ValueError(
            f"layer {name!r} uses padding={module.padding!r}; give the padding as an integer"
        )
    dilation = getattr(module, "dilation", 1)  # AvgPool2d has none
    return (
        _square(module.kernel_size, "kernel", name),
        _square(module.stride, "stride", name),
        _square(module.padding, "padding", name),
        _square(dilation, "dilation", name),
    )


def _geometry_layers(
    layers: nn.Module | Sequence[nn.Module],
) -> list[tuple[str, nn.Module, tuple[int, int, int, int]]]:
    """Conv/pool modules of ``layers`` in registration order, shortcut branches left out."""
    if isinstance(layers, nn.Module):
        named: Iterable[tuple[str, nn.Module]] = layers.named_modules()
    else:
        named = [
            (sub, module)
            for i, layer in enumerate(layers)
            for sub, module in layer.named_modules(prefix=str(i))
        ]
    found = []
    for name, module in named:
        if any(part in SKIPPED_BRANCHES for part in name.split(".")):
            continue
        geometry = layer_geometry(module, name)
        if geometry is not None:
            found.append((name, module, geometry))
    return found


def receptive_field(
    layers: nn.Module | Sequence[nn.Module], input_size: int | None = None
) -> list[ReceptiveFieldRow]:
    """Receptive field ``r``, jump ``j`` and ``start`` after the input and after every conv/pool.

    ``layers``: a model (its Conv2d/MaxPool2d/AvgPool2d modules in registration order) or a list
    of layers. ``input_size``: side of a square input, to fill the ``size`` column. Returns one
    row for the input then one per layer (rules in the module docstring).
    Example: two 3x3 convs (padding 1) -> rows with ``r = 1, 3, 5`` and ``j = 1, 1, 1``.
    """
    rows = [ReceptiveFieldRow("input", "-", None, None, None, None, input_size, 1, 1, 0.0)]
    r, j, start, size = 1, 1, 0.0, input_size
    for name, module, (k, s, p, d) in _geometry_layers(layers):
        span = d * (k - 1)  # k' - 1
        if size is not None:
            size = conv_output_size(size, k, s, p, d, getattr(module, "ceil_mode", False))
        r, start, j = r + span * j, start + (span / 2 - p) * j, j * s
        rows.append(ReceptiveFieldRow(name, type(module).__name__, k, s, p, d, size, j, r, start))
    if len(rows) == 1:
        raise ValueError("no Conv2d, MaxPool2d or AvgPool2d layer found; pass a CNN or its layers")
    return rows


def measure_receptive_field(
    layers: nn.Module | Sequence[nn.Module], input_size: int, position: int | None = None
) -> MeasuredField:
    """Measure with autograd which input pixels influence one output feature.

    Every conv/pool layer is replaced by a one-channel convolution of the same geometry with an
    all-ones kernel (positive weights: no gradient can cancel); the input is all ones. The
    gradient of output feature ``(position, position)`` is then nonzero exactly on its receptive
    field clipped to the image. ``position`` defaults to the centre feature. Returns the first and
    last input row with nonzero gradient. Example: two 3x3 convs on a 9x9 input -> ``2..6``.
    """
    probe = nn.Sequential(
        *[
            nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False, dtype=torch.float64)
            for _, _, (k, s, p, d) in _geometry_layers(layers)
        ]
    )
    with torch.no_grad():
        for conv in probe:
            conv.weight.fill_(1.0)
    x = torch.ones(1, 1, input_size, input_size, dtype=torch.float64, requires_grad=True)
    y = probe(x)
    if position is None:
        position = y.shape[-1] // 2
    y[0, 0, position, position].backward()
    rows = torch.nonzero(x.grad[0, 0].sum(dim=1)).flatten()
    return MeasuredField(int(rows[0]), int(rows[-1]))


def format_receptive_field(rows: Sequence[ReceptiveFieldRow]) -> str:
    """The rows of :func:`receptive_field` as a fixed-width text table."""

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    header = ("layer", "type", "k", "s", "p", "d", "size", "jump", "RF", "start")
    table = [header] + [
        tuple(
            cell(v)
            for v in (
                row.name,
                row.type,
                row.kernel,
                row.stride,
                row.padding,
                row.dilation,
                row.size,
                row.jump,
                row.receptive_field,
                row.start,
            )
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(
            text.ljust(width) if i < 2 else text.rjust(width)
            for i, (text, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
