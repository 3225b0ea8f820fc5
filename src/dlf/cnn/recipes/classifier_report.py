"""The report of one trained image classifier, shared by ``cnn-mnist`` and ``cnn-fashion``.

Layer table (``summary``), receptive fields, learning curves, confusion matrix, first-layer
filters, feature maps of one test image and the most confidently misclassified test images.
"""

from __future__ import annotations

import torch
from torch import nn

from dlf.cnn.data import ImageTensors
from dlf.cnn.pictures import confusion_figure, feature_maps, filter_grid, misclassified
from dlf.cnn.receptive_field import format_receptive_field, receptive_field
from dlf.cnn.summary import summary
from dlf.cnn.train import FitResult, confusion_matrix
from dlf.runs import RunDir, line_plot
from dlf.runs.architecture import add_architecture, architecture


def model_size(model: nn.Module, image_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(parameters, multiply-adds of one image)`` of ``model`` (MACs from :func:`summary`)."""
    params = sum(p.numel() for p in model.parameters())
    return params, sum(row.macs for row in summary(model, (1, *image_shape)))


def most_confused(matrix: torch.Tensor, classes: tuple[str, ...], k: int = 3) -> list[str]:
    """The ``k`` largest off-diagonal entries of a confusion matrix as ``"true as predicted: n"``.

    Example: ``[[5, 2], [0, 4]]`` with classes ``("a", "b")`` and ``k=1`` -> ``["a as b: 2"]``.
    """
    off = matrix.clone()
    off.fill_diagonal_(0)
    top = torch.argsort(off.flatten(), descending=True)[:k]
    n = len(classes)
    return [f"{classes[i // n]} as {classes[i % n]}: {int(off.flatten()[i])}" for i in top.tolist()]


def curves(run_dir: RunDir, parts: list[str]) -> None:
    """Loss and error per epoch, training (running, augmented) against the held-out parts."""
    for key, label in (("loss", "cross-entropy loss"), ("error", "error")):
        series = {}
        for part in ["train", *parts]:
            if key == "error" and part != "train":
                steps, acc = run_dir.series(f"{part}_acc")
                series[part] = (steps, [1.0 - a for a in acc])
            else:
                series[part] = run_dir.series(f"{part}_{key}")
        run_dir.figure(key, line_plot(series, "epoch", label, logy=key == "error"), caption=label)


def report_classifier(
    run_dir: RunDir, model: nn.Module, data: ImageTensors, result: FitResult
) -> dict[str, object]:
    """Write the report pieces for ``model`` trained by ``fit``; returns its final figures."""
    params, macs = model_size(model, data.image_shape)
    image = torch.zeros(1, *data.image_shape, device=next(model.parameters()).device)
    add_architecture(
        run_dir, architecture(model, image, title=f"{type(model).__name__} (one image)")
    )
    fields = receptive_field(model, data.image_shape[-1])
    run_dir.text("Receptive fields", format_receptive_field(fields), pre=True)
    curves(run_dir, [p for p in ("val", "test") if p in result.final])
    test = result.final["test"]
    matrix = confusion_matrix(data.y_test, test.predictions, data.num_classes)
    run_dir.figure(
        "confusion",
        confusion_figure(matrix, data.classes),
        caption="test confusion matrix (rows: true class, columns: predicted)",
    )
    per_class = (matrix.diag() / matrix.sum(dim=1).clamp(min=1)).tolist()
    run_dir.table(
        "Test accuracy per class",
        ["class", "images", "accuracy"],
        [
            [c, int(n), f"{a:.4f}"]
            for c, n, a in zip(data.classes, matrix.sum(1), per_class, strict=True)
        ],
    )
    run_dir.figure("filters", filter_grid(model), caption="first-layer filters")
    run_dir.figure(
        "feature_maps",
        feature_maps(model, data.x_test[0]),
        caption=f"test image 0 (class {data.classes[int(data.y_test[0])]}) through the conv layers",
    )
    run_dir.figure(
        "misclassified",
        misclassified(data.denormalise(data.x_test), data.y_test, test.logits, data.classes),
        caption="most confidently misclassified test images: true -> predicted, softmax score",
    )
    return {
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "test_errors": int((test.predictions != data.y_test).sum()),
        "parameters": params,
        "mult_adds": macs,
        "seconds_per_epoch": result.seconds_per_epoch,
        "most_confused": most_confused(matrix, data.classes),
    }


def show_accuracy(
    run_dir: RunDir, images: str, accuracy: float, num_classes: int, at_least: float
) -> bool:
    """State the effect a classifier run shows: a test accuracy far above guessing's.

    Example: 10 classes, ``at_least=0.7``: accuracy 0.93 -> shown; 0.45 -> not shown.
    """
    return run_dir.effect(
        f"the net classifies {images} far better than guessing ({1 / num_classes:.0%})",
        accuracy >= at_least,
        f"test accuracy {accuracy:.1%} (>= {at_least:.0%} counts)",
    )
