"""Plot helpers shared by the recipes (matplotlib figures without pyplot: no screen needed).

Figures are made as ``matplotlib.figure.Figure`` objects, never through pyplot, so importing
``dlf`` leaves the user's backend alone (a notebook's inline plots keep working) and no figure is
kept alive by pyplot's registry.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (6.4, 4.0)):
    """A figure with ``nrows x ncols`` axes, each ``size`` inches; returns ``(fig, axes)``."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def line_plot(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str = "",
    logy: bool = False,
    logx: bool = False,
) -> Figure:
    """One line per ``label -> (x, y)`` on shared axes."""
    fig, axes = new_figure()
    ax = axes[0, 0]
    for label, (x, y) in series.items():
        ax.plot(x, y, label=label, linewidth=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    if len(series) > 1:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def image_grid(
    images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 10, cmap: str = "gray"
) -> Figure:
    """Images (N, H, W) or (N, C, H, W) in a grid, each scaled to its own range."""
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = new_figure(ncols, nrows, size=(1.3, 1.45))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = np.asarray(images[i], dtype=np.float64)
        if img.ndim == 3:
            img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
        lo, hi = img.min(), img.max()
        ax.imshow((img - lo) / (hi - lo + 1e-12), cmap=cmap if img.ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def token_label(token: str) -> str:
    """A token as a tick label that can be seen: space ``␣``, newline ``↵``, tab ``⇥``, and
    at most 12 characters.

    Example: ``" the"`` -> ``"␣the"``; ``"\\n"`` -> ``"↵"``.
    """
    text = token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")
    return text if len(text) <= 12 else text[:11] + "…"


def attention_heatmap(
    ax,
    weights,
    queries: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    title: str = "",
    colorbar: bool = True,
    max_labels: int = 40,
):
    """Attention weights (L, S) as a heat map on ``ax``: query i (row, the token that looks)
    against key j (column, the token looked at), colour 0 to 1 (viridis), the tokens on both
    axes, and a colour bar unless ``colorbar=False`` (a grid of maps shares one: pass the
    returned image to ``fig.colorbar``). Labels shrink with the number of tokens; beyond
    ``max_labels`` only every k-th is written. Returns the image (``AxesImage``).

    ``weights``: a NumPy array or a tensor (detached to CPU here). ``queries``/``keys``: one
    label per row/column (None: positions 0, 1, ...).
    """
    grid = np.asarray(weights.detach().cpu().float() if hasattr(weights, "detach") else weights)
    if grid.ndim != 2:
        raise ValueError(f"attention weights must be (L, S), got shape {grid.shape}")
    L, S = grid.shape
    image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    for axis, labels, n, name in ((ax.xaxis, keys, S, "key"), (ax.yaxis, queries, L, "query")):
        labels = [str(i) for i in range(n)] if labels is None else list(labels)[:n]
        every = -(-len(labels) // max_labels)
        ticks = list(range(0, len(labels), every))
        size = 9 if len(ticks) <= 12 else 8 if len(ticks) <= 20 else 7 if len(ticks) <= 28 else 6
        axis.set_ticks(ticks, [token_label(labels[i]) for i in ticks], fontsize=size)
        axis.set_label_text(name, fontsize=8)
    long = any(len(label.get_text()) > 1 for label in ax.get_xticklabels())
    if long:
        ax.tick_params(axis="x", labelrotation=90)
    ax.tick_params(length=2)
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        bar = ax.figure.colorbar(image, ax=ax, shrink=0.85, pad=0.03)
        bar.set_label("attention weight", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    return image


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
