"""A model's architecture for a person: its layer table and its data-flow diagram, from one pass.

``architecture(model, *inputs)`` traces ``model(*inputs)`` once (:mod:`dlf.runs.trace`; build a
large model under ``torch.device("meta")`` and nothing large is allocated) and keeps both views;
``add_architecture(run_dir, ...)`` puts them in a run's report (the table as text, the diagram
as a PNG).
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure
from torch import nn

from dlf.runs.diagram import Row, diagram, diagram_figure, format_diagram
from dlf.runs.layer_table import SummaryRow, format_summary, rows_of
from dlf.runs.trace import trace


@dataclass
class Architecture:
    """The two views of one traced pass. ``tokens``: the tokens of the pass, for a language
    model (the table then gives multiply-adds per token); ``parameters``: the model's distinct
    parameters (a tied matrix once)."""

    title: str
    model: nn.Module
    rows: list[SummaryRow]
    diagram: list[Row]
    tokens: int | None = None

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def table(self) -> str:
        return format_summary(self.rows, self.model, self.tokens)

    def text(self) -> str:
        return format_diagram(self.diagram, f"{self.title}: data flow of one forward pass")

    def figure(self) -> Figure:
        return diagram_figure(self.diagram, self.title)


def architecture(
    model: nn.Module, *inputs: object, tokens: int | None = None, title: str = ""
) -> Architecture:
    """Trace ``model(*inputs)`` and keep its layer table and its diagram (see the module doc)."""
    root = trace(model, *inputs)
    return Architecture(title or type(model).__name__, model, rows_of(root), diagram(root), tokens)


def add_architecture(run_dir, arch: Architecture, name: str = "architecture") -> None:
    """Put ``arch`` in a run's report: the diagram as ``<name>.png``, then the layer table."""
    run_dir.figure(
        name,
        arch.figure(),
        caption=f"{arch.title}, drawn from one forward pass: boxes are module calls in order, the "
        "red line is the residual stream that each branch leaves and rejoins at ⊕, a blue frame "
        "holds N calls of the same block (the first is drawn).",
    )
    run_dir.text(f"Layers of {arch.title}", arch.table(), pre=True)
