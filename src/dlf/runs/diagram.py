"""The data flow of a model, drawn from one traced forward pass (:func:`dlf.runs.trace.trace`).

Nothing here knows a model by name: the picture comes from what the pass did.

- A module's children appear in the order they were called; a module that contains a
  residual connection, a stack (``nn.Sequential``, a ``nn.ModuleList``) or the model itself is
  opened, any other module is one box (an attention layer, an MLP, a convolution).
- Consecutive calls of the same structure are one group, ``12 x Block``.
- A residual connection is an ``add`` whose operands share an ancestor inside the same module
  call, one of them that ancestor itself: ``x + f(x)``. The calls of ``f`` are drawn inside a
  branch that leaves the residual stream and joins it again at the ⊕. When both operands went
  through modules (ResNet's projection shortcut), the shorter is the shortcut.
- An attention box names its mask: "causal" when the mask was made by ``tril``/``triu`` (or
  the fused kernel ran with ``is_causal``), "padding" when it comes from an input.
- A box whose weight belongs to an earlier module says so (weight tying), and a box fed by a
  module outside its block says from where (a decoder's cross-attention reads the encoder).

``diagram(root)`` gives the rows; ``format_diagram`` prints them; ``diagram_figure`` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from torch import nn

from dlf.runs.trace import ADDS, Call, Event, Input, Op

MASK_MAKERS = {"tril", "triu"}


@dataclass(frozen=True)
class Row:
    """One row of a diagram.

    ``kind``: "input", "layer", "add" (a sum that is not residual), "group" / "end" (an opened
    module), "repeat" / "end" (``count`` calls of the same structure), "branch" / "join" (a
    residual branch and the ⊕ that ends it), "output". ``depth``: how deeply it is nested.
    ``count``: the calls a "repeat" stands for; the "branch" rows a "join" ends (2 with a
    shortcut). ``source``: the module outside its block whose output a layer reads.
    """

    kind: str
    depth: int
    name: str = ""
    type: str = ""
    shape: tuple[int, ...] | None = None
    note: str = ""
    count: int = 1
    source: str = ""


@dataclass(frozen=True)
class Residual:
    """``add`` = stream + branch: the calls of the branch and of the shortcut (may be empty)."""

    add: Op
    branch: tuple[Call, ...]
    shortcut: tuple[Call, ...]


def ancestors(event: Event, floor: int) -> set[Event]:
    """``event`` and the events that produced its inputs, transitively, not looking behind
    index ``floor`` (events before it are kept but not opened)."""
    found: set[Event] = set()
    stack = [event]
    while stack:
        e = stack.pop()
        if e in found:
            continue
        found.add(e)
        if e.index >= floor:
            stack.extend(e.parents)
    return found


def residuals(call: Call) -> list[Residual]:
    """The residual connections made by ``call``'s own code (see the module doc)."""
    found = []
    for op in call.events:
        if not (isinstance(op, Op) and op.name in ADDS and len(op.parents) == 2):
            continue
        a, b = op.parents
        left, right = ancestors(a, call.index), ancestors(b, call.index)
        common = left & right
        if not common:
            continue
        c = max(common, key=lambda e: e.index)
        on_a, on_b = _children_after(call, left, c), _children_after(call, right, c)
        if c is a or c is b or (on_a and on_b):
            branch, shortcut = (on_a, on_b) if len(on_a) >= len(on_b) else (on_b, on_a)
            if branch:
                found.append(Residual(op, branch, shortcut))
    return found


def _children_after(call: Call, events: set[Event], start: Event) -> tuple[Call, ...]:
    """The calls among ``events`` that ``call`` made itself after ``start``, in order."""
    found = [
        e for e in events if isinstance(e, Call) and e.caller is call and e.index > start.index
    ]
    return tuple(sorted(found, key=lambda e: e.index))


def mask_kind(call: Call) -> str:
    """ "causal mask", "padding mask", "causal & padding mask" or "" for the masks used below
    ``call`` (by ``masked_fill``, ``where`` or the fused attention)."""
    kinds: set[str] = set()
    for event in call.walk():
        if not isinstance(event, Op):
            continue
        if event.kwargs.get("is_causal"):
            kinds.add("causal")
        if event.mask is not None:
            for e in ancestors(event.mask, 0):
                if isinstance(e, Op) and e.name in MASK_MAKERS:
                    kinds.add("causal")
                elif isinstance(e, Input):
                    kinds.add("padding")
    return " & ".join(k for k in ("causal", "padding") if k in kinds) + " mask" if kinds else ""


def _signature(call: Call) -> tuple:
    """The structure of a call: its type and its descendants' relative names and types."""
    cut = len(call.name)
    return (call.type,) + tuple(
        (e.name[cut:], e.type) for e in call.walk() if isinstance(e, Call) and e is not call
    )


def _opens(call: Call, has_residual: dict[Call, bool]) -> bool:
    module = call.module
    stack = isinstance(module, nn.Sequential) or any(
        isinstance(child, nn.ModuleList) for child in module.children()
    )
    return call.caller is None or stack or has_residual[call]


def _tied(model: nn.Module) -> dict[str, str]:
    """Module name -> the earlier module that owns one of its weights (weight tying)."""
    owner: dict[int, str] = {}
    tied: dict[str, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        for p in module.parameters(recurse=False):
            if id(p) in owner and owner[id(p)] != name:
                tied.setdefault(name, owner[id(p)])
            owner.setdefault(id(p), name)
    return tied


def diagram(root: Call) -> list[Row]:
    """The rows of the data-flow diagram of a traced pass, top to bottom."""
    calls = [e for e in root.walk() if isinstance(e, Call)]
    has_residual: dict[Call, bool] = {}  # at the call or below it
    for call in reversed(calls):  # children before parents
        has_residual[call] = bool(not call.leaf and residuals(call)) or any(
            has_residual[c] for c in call.calls()
        )
    context = _Context(has_residual, _tied(root.module), set(), set())
    rows: list[Row] = []
    # work: a Row to emit, or (call, depth) to open; opening puts its rows in front
    work: list[Row | tuple[Call, int]] = [(root, 0)]
    while work:
        item = work.pop(0)
        if isinstance(item, Row):
            rows.append(item)
        else:
            work[:0] = _open(*item, context)
    rows.append(Row("output", 0, "output", _dtype(root.dtype), root.shape))
    return rows


@dataclass
class _Context:
    has_residual: dict[Call, bool]
    tied: dict[str, str]
    shown_inputs: set[Input]
    seen_modules: set[int]


def _open(call: Call, depth: int, context: _Context) -> list[Row | tuple[Call, int]]:
    """The rows of one opened call (its children still to open come as ``(call, depth)``)."""
    prefix = call.name + "." if call.name else ""
    joins = {r.add: r for r in residuals(call)}
    starts = {r.branch[0]: "branch off the residual stream x" for r in joins.values()}
    starts.update({r.shortcut[0]: "shortcut" for r in joins.values() if r.shortcut})
    in_branch = {c for r in joins.values() for c in (*r.branch, *r.shortcut)}
    out: list[Row | tuple[Call, int]] = []
    events = call.events
    i = 0
    while i < len(events):
        event = events[i]
        for parent in event.parents:
            if isinstance(parent, Input) and parent not in context.shown_inputs:
                context.shown_inputs.add(parent)
                out.append(Row("input", depth, parent.name, _dtype(parent.dtype), parent.shape))
        if isinstance(event, Op):
            if event in joins:
                shortcut = joins[event].shortcut
                note = "+ " + ", ".join(_rel(c.name, prefix) for c in shortcut)
                note = note if shortcut else "x + branch(x)"
                joined = 1 + bool(shortcut)
                out.append(Row("join", depth, shape=event.shape, note=note, count=joined))
            elif event.name in ADDS and len(event.parents) == 2:
                note = " + ".join(_source(p, prefix) for p in event.parents)
                out.append(Row("add", depth, shape=event.shape, note=note))
            i += 1
            continue
        if event in starts:
            out.append(Row("branch", depth, note=starts[event]))
        d = depth + 1 if event in in_branch else depth
        same = 1
        while (
            event not in in_branch
            and i + same < len(events)
            and events[i + same] not in in_branch
            and _same_block(event, events[i + same])
        ):
            same += 1
        name = _rel(event.name, prefix)
        if same > 1:
            last = _rel(events[i + same - 1].name, prefix)
            out.append(Row("repeat", d, f"{name} … {last}", event.type, event.shape, count=same))
        if _opens(event, context.has_residual):
            if same == 1:
                out.append(Row("group", d, name, event.type, event.shape))
            out.append((event, d + 1))
            out.append(Row("end", d, name, event.type, event.shape, count=same))
        elif same > 1:
            out.append(Row("end", d, name, event.type, event.shape, count=same))
        else:
            note = _box_note(event, call, context, prefix)
            source = ", ".join(p.name for p in _outside(event, call))
            out.append(Row("layer", d, name, event.type, event.shape, note, source=source))
        context.seen_modules.update(id(e.module) for e in events[i : i + same])
        i += same
    return out


def _same_block(first: Event, other: Event) -> bool:
    """Two calls of one stack (``h.0``, ``h.1``) with the same structure."""
    return (
        isinstance(first, Call)
        and isinstance(other, Call)
        and _numbered(first)
        and _numbered(other)
        and _signature(first) == _signature(other)
    )


def _dtype(dtype: torch.dtype | None) -> str:
    return str(dtype).removeprefix("torch.")


def _numbered(call: Call) -> bool:
    """Whether a call is an item of a stack: ``h.3`` or ``layers.0`` yes, ``wte`` no."""
    return call.name.rpartition(".")[2].isdigit()


def _rel(name: str, prefix: str) -> str:
    """A module's name inside the opened module ``prefix``: ``h.0.attn`` in ``h.0.`` -> ``attn``."""
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def _source(event: Event, prefix: str) -> str:
    while isinstance(event, Op) and len(event.parents) == 1:  # look through views and casts
        event = event.parents[0]
    if isinstance(event, Call):
        return _rel(event.name, prefix) or "model"
    if isinstance(event, Input):
        return event.name
    return event.name if isinstance(event, Op) else "?"


def _outside(call: Call, parent: Call) -> list[Call]:
    """The module calls from before ``parent`` (not its stream input, not a mask) whose
    output ``call`` reads: a decoder's cross-attention reads the encoder's output."""
    if parent.caller is None:
        return []
    stream = parent.parents[0] if parent.parents else None
    return [
        p
        for p in call.parents
        if isinstance(p, Call) and p.index < parent.index and p is not stream
        and p.dtype != torch.bool
    ]  # fmt: skip


def _box_note(call: Call, parent: Call, context: _Context, prefix: str) -> str:
    notes = []
    mask = mask_kind(call)
    if mask:
        notes.append(mask)
    outside = _outside(call, parent)
    if outside:
        reads = "keys, values from " if "Attention" in call.type else "also reads "
        notes.append(reads + ", ".join(p.name for p in outside))
    if call.name in context.tied:
        notes.append(f"weight tied to {_rel(context.tied[call.name], prefix)}")
    elif id(call.module) in context.seen_modules and any(True for _ in call.module.parameters()):
        notes.append("the same module again (shared weights)")
    return "; ".join(notes)


def _shape(shape: tuple[int, ...] | None) -> str:
    return "×".join(str(n) for n in shape) if shape else ""


def format_diagram(rows: Sequence[Row], title: str = "") -> str:
    """The rows as text: nesting by ``│``, a branch leaving the stream by ``├─┐``, its join by
    ``⊕``, a group of repeated blocks framed by ``┌ 12 × Block`` ... ``└``."""
    width = max((len(r.name) + 2 * r.depth for r in rows if r.kind == "layer"), default=10)
    type_width = max((len(r.type) for r in rows if r.kind == "layer"), default=8)
    out = [title] if title else []
    for r in rows:
        bar = "│ " * r.depth
        if r.kind == "input":
            out.append(f"{bar}▶ input {r.name}  {_shape(r.shape)} ({r.type})")
        elif r.kind == "layer":
            name = (bar + r.name).ljust(width)
            line = f"{name}  {r.type.ljust(type_width)}  {_shape(r.shape):>14}"
            out.append(line + (f"  [{r.note}]" if r.note else ""))
        elif r.kind == "add":
            out.append(f"{bar}⊕ {r.note}  {_shape(r.shape)}")
        elif r.kind == "branch":
            out.append(f"{bar}├─┐ {r.note}")
        elif r.kind == "join":
            out.append(f"{bar}⊕─┘ {r.note}  (back into the stream)")
        elif r.kind == "repeat":
            out.append(f"{bar}┌ {r.count} × {r.type}  ({r.name})")
        elif r.kind == "group":
            out.append(f"{bar}┌ {r.name} ({r.type})")
        elif r.kind == "end":
            label = f"{r.count} × {r.type}" if r.count > 1 else r.name
            out.append(f"{bar}└ end of {label}  → {_shape(r.shape)}")
        elif r.kind == "output":
            out.append(f"▼ output  {_shape(r.shape)} ({r.type})")
    return "\n".join(out)


# Box colours by what a layer does (by its type's name), for the figure.
COLOURS = (
    ("Attention", "#f6c28b"),
    ("Norm", "#b9e3b0"),
    ("Embedding", "#d6c6f0"),
    ("Positional", "#d6c6f0"),
    ("MLP", "#a9cdf0"),
    ("FeedForward", "#a9cdf0"),
    ("Conv", "#a9cdf0"),
    ("Linear", "#c9d3de"),
    ("Pool", "#e8e0b0"),
)


def _colour(type_name: str) -> str:
    for key, colour in COLOURS:
        if key in type_name:
            return colour
    return "#eeeeee"


FLOWS = ("layer", "input", "output", "add", "join")  # rows joined by a down arrow
STEP, INDENT, BOX = 0.42, 0.5, 4.6  # row height, indent per depth, box width (inches)
STREAM = "#c33"  # the residual stream and its joins
MEMORY = "#2a6fb0"  # an output read by a later block (the encoder's, by cross-attention)


def diagram_figure(rows: Sequence[Row], title: str = "") -> Figure:
    """The rows drawn top to bottom: a box per layer (coloured by kind) with its output shape
    and notes beside it, the residual stream as a red line that each branch leaves and rejoins
    at ⊕, an opened module framed in grey, ``N ×`` repeated blocks framed in blue."""
    depth = max(r.depth for r in rows)
    width = 0.4 + INDENT * depth + BOX + 4.2
    height = STEP * (len(rows) + (1 if title else 0)) + 0.3
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(-height, 0)
    ax.axis("off")
    top = -0.25
    if title:
        ax.text(0.15, top, title, fontsize=12, weight="bold", va="center")
        top -= STEP
    frames: list[tuple[float, Row]] = []
    branches: list[float] = []
    ends: dict[str, float] = {}  # an opened module's name -> the y of its last row
    for i, r in enumerate(rows):
        y, x = top - STEP * i, 0.5 + INDENT * r.depth
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if nxt is not None and nxt.depth == r.depth and r.kind in FLOWS and nxt.kind in FLOWS:
            _arrow(ax, (x + 0.25, y - 0.15), (x + 0.25, y - STEP + 0.15), "#555", 0.8)
        if r.kind in ("layer", "input", "output"):
            _box(ax, x, y, r)
            if r.source in ends:  # e.g. the encoder's output into a cross-attention
                ye = ends[r.source] - 0.2
                ax.plot([0.5, 0.25, 0.25], [ye, ye, y], color=MEMORY, lw=1.2, ls="--")
                _arrow(ax, (0.25, y), (x, y), MEMORY, 1.2)
                ax.text(0.13, (ye + y) / 2, f"{r.source} output", fontsize=8.5, color=MEMORY,
                        rotation=90, ha="center", va="center")  # fmt: skip
        elif r.kind == "add":
            ax.text(x + 0.25, y, "⊕", fontsize=14, va="center", ha="center")
            ax.text(x + 0.5, y, f"{r.note}   {_shape(r.shape)}", fontsize=9.5, va="center")
        elif r.kind == "branch":
            branches.append(y)
            ax.text(x + 0.35, y, r.note, fontsize=9, va="center", color=STREAM, style="italic")
        elif r.kind == "join":
            for _ in range(r.count):  # the branch, and the shortcut if there is one
                ys = branches.pop() if branches else y
            ax.plot([x + 0.25, x], [ys, ys], color=STREAM, lw=1.6)
            ax.plot([x, x], [ys, y], color=STREAM, lw=1.6)
            _arrow(ax, (x, y), (x + 0.13, y), STREAM, 1.6)
            ax.text(x + 0.25, y, "⊕", fontsize=14, va="center", ha="center", color=STREAM)
            ax.text(x + 0.5, y, r.note, fontsize=9, va="center", color=STREAM)
        elif r.kind in ("repeat", "group"):
            frames.append((y, r))
            label = f"{r.count} × {r.type}   ({r.name})" if r.kind == "repeat" else r.name
            if r.kind == "group":
                label += f"  ·  {r.type}"
            ax.text(x + 0.1, y, label, fontsize=10.5, weight="bold", va="center")
        elif r.kind == "end" and frames:
            ends[r.name] = y
            ys, head = frames.pop()
            repeat = head.kind == "repeat"
            colour = "#2a6fb0" if repeat else "#999"
            frame = FancyBboxPatch(
                (x - 0.05, y - 0.12), width - x - 0.2, ys - y + 0.3, boxstyle="round,pad=0.04",
                fc="none", ec=colour, lw=1.4 if repeat else 0.8, ls="-" if repeat else "--",
            )  # fmt: skip
            ax.add_patch(frame)
            if repeat:
                ax.text(x + 0.1, y + 0.02, f"× {head.count}", fontsize=10.5, color=colour,
                        weight="bold", va="center")  # fmt: skip
    return fig


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], colour: str, lw: float):
    style = dict(arrowstyle="-|>", color=colour, lw=lw, shrinkA=0, shrinkB=0)
    ax.annotate("", end, start, arrowprops=style)


def _box(ax, x: float, y: float, r: Row) -> None:
    """A layer, input or output: a rounded box with its name, then its shape and notes."""
    face = _colour(r.type) if r.kind == "layer" else "#ffffff"
    patch = FancyBboxPatch(
        (x, y - 0.15), BOX, 0.3, boxstyle="round,pad=0.02", fc=face, ec="#444", lw=0.8
    )
    ax.add_patch(patch)
    label = {"layer": f"{r.name}  ·  {r.type}", "input": f"input {r.name}  ({r.type})"}
    ax.text(x + 0.1, y, label.get(r.kind, "output"), fontsize=10, va="center")
    beside = _shape(r.shape) + (f"   {r.note}" if r.note else "")
    ax.text(x + BOX + 0.12, y, beside, fontsize=9, va="center", color="#333")
