"""Plots shared by the Module 3 recipes: attention heat-maps and accuracy against length."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from dlf.runs import attention_heatmap, new_figure


def attention_grid(
    maps: dict[str, Tensor],
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    row: int = 0,
) -> Figure:
    """One heat-map per layer (rows) and head (columns) of the weights (B, h, L, S) in
    ``maps`` (as ``Transformer.attention_maps()`` returns them), for example ``row``.

    Queries run down, keys across; encoder self-attention is labelled with the source tokens,
    decoder self-attention with the decoder inputs, cross-attention with both.
    """
    names = list(maps)
    n_heads = max(maps[n].shape[1] for n in names)
    fig = Figure(figsize=(2.6 * n_heads + 0.9, 2.6 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), n_heads, squeeze=False)
    for r, name in enumerate(names):
        weights = maps[name][row].float().numpy()  # (h, L, S)
        if name.startswith("encoder"):
            queries, keys = src_tokens, src_tokens
        elif name.endswith("cross_attn"):
            queries, keys = tgt_tokens, src_tokens
        else:
            queries, keys = tgt_tokens, tgt_tokens
        weights = weights[:, : len(queries), : len(keys)]
        for h in range(n_heads):
            ax = axes[r, h]
            short = name.replace("layers.", "L").replace("_attn", "")
            image = attention_heatmap(
                ax, weights[h], queries, keys, f"{short} h{h}", colorbar=False
            )
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    return fig


def accuracy_by_length_plot(
    curves: dict[str, dict[int, float]], title: str = "", train_max: int | None = None
) -> Figure:
    """Exact match (y) against source length (x), one line per label; a dotted line marks the
    longest training length, so extrapolation is to its right."""
    fig, axes = new_figure()
    ax = axes[0, 0]
    for label, by_length in curves.items():
        lengths = sorted(by_length)
        ax.plot(lengths, [by_length[n] for n in lengths], marker="o", markersize=3, label=label)
    if train_max is not None:
        ax.axvline(train_max + 0.5, color="grey", linestyle=":", linewidth=1)
        ax.text(train_max + 0.6, 0.02, "longer than training", fontsize=7, color="grey")
    ax.set_xlabel("source length")
    ax.set_ylabel("exact match")
    ax.set_ylim(-0.03, 1.03)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def merge_by_length(*parts: dict[int, float]) -> dict[int, float]:
    """One length -> accuracy mapping from several splits (their lengths do not overlap).

    Example: ``merge_by_length({3: 1.0}, {11: 0.5})`` -> ``{3: 1.0, 11: 0.5}``.
    """
    merged: dict[int, float] = {}
    for part in parts:
        merged.update(part)
    return dict(sorted(merged.items()))


def tokens_of(text: str, bos: bool = False, eos: bool = False) -> list[str]:
    """Axis labels for a string: one per character, spaces shown as '_'.

    Example: ``tokens_of("3 M", bos=True)`` -> ``["<s>", "3", "_", "M"]``.
    """
    chars = ["_" if ch == " " else ch for ch in text]
    return (["<s>"] if bos else []) + chars + (["</s>"] if eos else [])


def as_percent(x: float) -> str:
    """``0.9967`` -> ``"99.67%"``."""
    return f"{100 * float(np.round(x, 6)):.2f}%"
