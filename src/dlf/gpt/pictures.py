"""Pictures of a GPT for its reports: its data-flow diagram and the attention of its heads."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure
from torch import Tensor

from dlf.gpt.model import GPT
from dlf.runs import attention_heatmap
from dlf.runs.architecture import Architecture, add_architecture, architecture
from dlf.runs.trace import Op, trace


def gpt_diagram(model: GPT) -> Architecture:
    """The architecture of ``model``'s class and shape (a learner's blocks included), traced
    on a copy built on the meta device over a whole context, so the trained weights and the
    model's device are not touched."""
    config = model.config
    with torch.device("meta"):
        twin = type(model)(config)
        idx = torch.zeros(1, config.block_size, dtype=torch.long)
    return architecture(twin, idx, tokens=config.block_size, title=type(model).__name__)


@torch.no_grad()
def attention_maps(model: GPT, idx: Tensor) -> dict[str, Tensor]:
    """Attention weights (B, n_head, T, T) of every block on ``idx`` (B, T), by the name of the
    module that computed them (``transformer.h.0.attn``): the softmax outputs of one pass.

    A model set to the fused kernel (which never forms the weights) runs this pass with dlf's
    attention, the same numbers up to rounding; its setting is restored afterwards.
    """
    switch = ("fused", "auto")
    kernels = {m: m.attention for m in model.modules() if getattr(m, "attention", None) in switch}
    for module in kernels:
        module.attention = "ours"
    try:
        root = trace(model, idx, keep=("softmax",))
    finally:
        for module, kernel in kernels.items():
            module.attention = kernel
    maps: dict[str, Tensor] = {}
    for event in root.walk():
        if isinstance(event, Op) and event.value is not None and event.value.dim() == 4:
            maps.setdefault(event.caller.name, event.value.float().cpu())
    return maps


def attention_figure(maps: dict[str, Tensor], tokens: Sequence[str], per_row: int = 4) -> Figure:
    """Every head of the last block of :func:`attention_maps`, for the first sequence, ``per_row``
    maps a row, the tokens on both axes and one colour bar."""
    name = list(maps)[-1]
    n_head = maps[name].shape[1]
    cols = min(n_head, per_row)
    rows = -(-n_head // cols)
    fig = Figure(figsize=(2.5 * cols + 0.9, 2.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for head, ax in enumerate(axes.flat):
        if head >= n_head:
            ax.axis("off")
            continue
        title = f"{name.removeprefix('transformer.')} head {head}"
        image = attention_heatmap(ax, maps[name][0, head], tokens, tokens, title, colorbar=False)
    fig.colorbar(image, ax=axes, shrink=0.7, label="attention weight")
    return fig


def report_gpt(run_dir, model: GPT, tokenizer, ids: Sequence[int], shown: int = 16) -> None:
    """Put ``model``'s diagram and layer table, and the attention of its last block's heads on
    the first ``shown`` of ``ids`` (say, the validation text), in a run's report."""
    add_architecture(run_dir, gpt_diagram(model))
    ids = [int(i) for i in ids[: min(shown, model.config.block_size)]]
    device = next(model.parameters()).device
    maps = attention_maps(model, torch.tensor([ids], device=device))
    if not maps:  # an attention that never calls softmax (a learner's own) leaves nothing to draw
        run_dir.text("Attention", "The model's attention computed no softmax to draw.")
        return
    run_dir.figure(
        "attention",
        attention_figure(maps, [tokenizer.decode([i]) for i in ids]),
        caption="Attention of the trained model's last block, each head, on the start of the "
        "validation text: row i is the token that looks (query), column j the token looked at "
        "(key); the causal mask leaves the upper triangle at 0. ␣ is a space, ↵ a newline.",
    )
