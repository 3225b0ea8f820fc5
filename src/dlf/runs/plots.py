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


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
