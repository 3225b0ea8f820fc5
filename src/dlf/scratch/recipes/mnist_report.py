"""What the MNIST training recipes of ``dlf.scratch`` share (``mnist-mlp``, ``scratch-cnn``).

The learning-rate schedule (linear warm-up, then cosine or constant, per iteration), the
learning curves, the per-iteration loss with its schedule, the misclassified test digits, a
weights file checked by reloading it into a freshly built model, and the weights kept when
training stops early (interrupted, or diverged).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np

from dlf.runs import Diverged, RunDir, image_grid, load_arrays, new_figure, save_arrays
from dlf.scratch.layers import Layer
from dlf.scratch.schedules import Constant, CosineAnnealing, LinearWarmup, Schedule
from dlf.scratch.state import load_state_dict, state_dict
from dlf.scratch.trainer import History, Interrupted, predict


def warmup_then(
    lr: float, kind: Literal["cosine", "constant"], warmup: int, total: int
) -> Schedule:
    """``warmup`` steps of linear warm-up from ``0.1 * lr``, then cosine decay to 0 over the
    remaining ``total - warmup`` steps (or a constant ``lr``); no warm-up when ``warmup`` is 0.

    Example: ``warmup_then(0.1, "cosine", 10, 100)(10)`` -> 0.1 (the peak), ``(100)`` -> 0.0.
    """
    warmup = min(warmup, total)
    after = CosineAnnealing(lr, max(total - warmup, 1)) if kind == "cosine" else Constant(lr)
    return LinearWarmup(after, warmup, start_factor=0.1) if warmup > 0 else after


def plot_learning_curves(history: History, title: str = ""):
    """Two panels: loss (train, validation) and accuracy (train, validation) against epoch."""
    fig, axes = new_figure(2, 1, size=(5.0, 3.6))
    for ax, key, label in ((axes[0, 0], "loss", "loss"), (axes[0, 1], "acc", "accuracy")):
        ax.plot(history.epoch, getattr(history, f"train_{key}"), label="train (running)")
        ax.plot(history.epoch, getattr(history, f"val_{key}"), label="validation")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="gray", linestyle=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_iterations(history: History, schedule: Schedule):
    """Two panels: every mini-batch's loss (log scale) and the learning rate, against iteration."""
    steps = np.arange(len(history.batch_loss))
    fig, axes = new_figure(2, 1, size=(5.0, 3.4))
    axes[0, 0].plot(steps, history.batch_loss, linewidth=0.5)
    axes[0, 0].set(xlabel="iteration", ylabel="mini-batch loss", yscale="log")
    axes[0, 1].plot(steps, [schedule(int(t)) for t in steps])
    axes[0, 1].set(xlabel="iteration", ylabel="learning rate")
    fig.tight_layout()
    return fig


def report_misclassified(
    run_dir: RunDir, images: np.ndarray, y: np.ndarray, pred: np.ndarray, limit: int = 40
) -> int:
    """Add the first ``limit`` digits with ``pred != y`` to the report (titled "true → predicted").

    Shapes: ``images`` (N, 28, 28), ``y`` and ``pred`` (N,) labels. Returns how many of the N are
    wrong (no figure when none is).
    """
    wrong_all = np.flatnonzero(pred != y)
    wrong = wrong_all[:limit]
    if len(wrong):
        run_dir.figure(
            "misclassified",
            image_grid(images[wrong], [f"{y[i]} → {pred[i]}" for i in wrong]),
            caption=f"The first {len(wrong)} misclassified test digits (true → predicted) of "
            f"{len(wrong_all)}.",
        )
    return len(wrong_all)


def save_weights(
    run_dir: RunDir, model: Layer, build: Callable[[], Layer], x: np.ndarray
) -> tuple[str, bool]:
    """Save ``state_dict(model)`` as ``model.safetensors`` in the run folder, load it into
    ``build()`` (a fresh model of the same architecture) and compare predictions on ``x``.

    Returns ``(file name, reloaded predictions identical)``.
    """
    weights = run_dir.path / "model.safetensors"
    save_arrays(weights, state_dict(model))
    reloaded = build()
    load_state_dict(reloaded, load_arrays(weights))
    identical = bool(np.array_equal(predict(reloaded, x), predict(model, x)))
    return weights.name, identical


@contextmanager
def weights_kept_on_stop(run_dir: RunDir, model: Layer, epochs: int) -> Iterator[None]:
    """``with weights_kept_on_stop(run_dir, model, epochs): history = fit(model, ...)``.

    If training inside is interrupted (:class:`dlf.scratch.trainer.Interrupted`: Ctrl-C or
    SIGTERM) or diverges (:class:`dlf.runs.Diverged`, from ``history.raise_if_diverged()``), the
    model's weights, which ``fit`` has set back to the last good ones, are saved as
    ``model.safetensors`` and the report says what they are; then the exception goes on up.
    """
    try:
        yield
    except Interrupted as stop:
        save_arrays(run_dir.path / "model.safetensors", state_dict(model))
        held = (
            f"the weights of epoch {stop.restored_epoch}, the lowest validation loss so far"
            if stop.restored_epoch is not None
            else "the weights as they stood when training stopped (maybe within an epoch)"
        )
        run_dir.text(
            "Interrupted",
            f"Training stopped after {stop.history.epochs_run} of {epochs} epochs. "
            f"model.safetensors holds {held}; the test set was not scored.",
        )
        raise
    except Diverged as err:
        save_arrays(run_dir.path / "model.safetensors", state_dict(model))
        run_dir.text(
            "Diverged",
            f"{err}. model.safetensors holds the last good weights (those of the best epoch "
            "so far, or of the start of the epoch in which the loss blew up); the test set "
            "was not scored.",
        )
        raise
