"""Pictures of a trained CNN: first-layer filters, feature maps of one image, misclassified
examples with their scores, and the confusion matrix. Each returns a matplotlib Figure (save it
with ``RunDir.figure`` or ``dlf.runs.to_png``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from dlf.cnn.receptive_field import SKIPPED_BRANCHES
from dlf.runs import image_grid, new_figure


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first ``Conv2d`` of ``model`` in registration order (the layer that sees pixels)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise ValueError("the model has no Conv2d layer; pass a convolutional network")


def filter_grid(model: nn.Module, ncols: int = 8) -> Figure:
    """The first layer's filters ``W`` of shape ``(out, in, kh, kw)`` as images, one per output.

    One input channel: a grey image per filter; three: an RGB image. Each filter is scaled to its
    own range (dark = most negative weight, light = most positive).
    """
    weights = first_conv(model).weight.detach().float().cpu().numpy()
    if weights.shape[1] not in (1, 3):
        weights = weights.mean(axis=1, keepdims=True)  # other channel counts: average them
    titles = [str(i) for i in range(len(weights))]
    return image_grid(weights, titles, ncols=min(ncols, len(weights)))


def conv_outputs(model: nn.Module, image: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """``(name, output (C_out, H', W'))`` of every Conv2d for one image ``(C, H, W)``, in order.

    Forward hooks on the conv layers record their outputs during one forward pass in eval mode
    without gradients; the hooks are removed and the model's mode restored afterwards.
    """
    names = {module: name for name, module in model.named_modules()}
    found: list[tuple[str, torch.Tensor]] = []

    def hook(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        found.append((names[module], output[0].detach().float().cpu()))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(image[None])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return found


def feature_maps(
    model: nn.Module, image: torch.Tensor, channels: int = 8, max_layers: int = 8
) -> Figure:
    """One image ``(C, H, W)`` through the network: a row per conv layer, its first maps.

    Column 0 holds the input; then the first ``channels`` output maps of the layer, each scaled to
    its own range. With more than ``max_layers`` conv layers, evenly spaced ones are shown
    (always the first and the last). Shortcut branches (``downsample``) are left out.
    """
    layers = [
        (name, maps)
        for name, maps in conv_outputs(model, image)
        if not any(part in SKIPPED_BRANCHES for part in name.split("."))
    ]
    if len(layers) > max_layers:
        keep = np.unique(np.linspace(0, len(layers) - 1, max_layers).round().astype(int))
        layers = [layers[i] for i in keep]
    fig, axes = new_figure(channels + 1, len(layers), size=(1.1, 1.2))
    picture = image.detach().float().cpu().numpy()
    picture = picture[0] if picture.shape[0] == 1 else np.transpose(picture, (1, 2, 0))
    picture = (picture - picture.min()) / (np.ptp(picture) + 1e-12)
    for row, (name, maps) in enumerate(layers):
        axes[row, 0].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
        axes[row, 0].set_title(f"{name}\n{maps.shape[1]}x{maps.shape[2]}", fontsize=7)
        for col in range(channels):
            ax = axes[row, col + 1]
            if col < len(maps):
                ax.imshow(maps[col].numpy(), cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_xticks([])
        axes[row, 0].set_yticks([])
    fig.tight_layout()
    return fig


def misclassified(
    images: torch.Tensor,
    labels: torch.Tensor,
    logits: torch.Tensor,
    classes: Sequence[str],
    count: int = 20,
    ncols: int = 10,
) -> Figure:
    """The ``count`` most confidently wrong images, titled ``true -> predicted p`` (softmax score).

    ``images (N, C, H, W)`` (any scale: each picture is scaled to its range), ``labels (N,)``,
    ``logits (N, K)``. The most confident mistakes come first. No mistakes: a figure saying so.
    """
    probs = torch.softmax(logits.float(), dim=1)
    score, pred = probs.max(dim=1)
    wrong = torch.nonzero(pred != labels).flatten()
    if len(wrong) == 0:
        fig, axes = new_figure(size=(4.0, 1.0))
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return fig
    wrong = wrong[torch.argsort(score[wrong], descending=True)][:count]
    titles = [
        f"{classes[labels[i]][:8]}->{classes[pred[i]][:8]}\n{score[i]:.2f}" for i in wrong.tolist()
    ]
    return image_grid(images[wrong].float().cpu().numpy(), titles, ncols=min(ncols, len(wrong)))


def confusion_figure(matrix: torch.Tensor | np.ndarray, classes: Sequence[str]) -> Figure:
    """The confusion matrix ``C[true, predicted]`` as a heat map (log colour scale), with counts."""
    counts = np.asarray(matrix)
    k = len(classes)
    side = max(4.0, 0.45 * k + 1.5)
    fig, axes = new_figure(size=(side + 1.0, side))
    ax = axes[0, 0]
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                colour = "white" if counts[i, j] > counts.max() / 3 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(k), [c[:10] for c in classes], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), [c[:10] for c in classes], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return fig
