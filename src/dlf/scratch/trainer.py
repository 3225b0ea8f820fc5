"""The one training loop of Module 1: mini-batch gradient descent with validation each epoch.

    for epoch in 1..E:
        shuffle the training set (seeded); for each mini-batch (x_B, y_B):
            opt.lr = schedule(t)                            (if a schedule is given)
            logits = model(x_B);  L, dlogits = loss_fn(logits, y_B)
            model.backward(dlogits)                         (fills model.grads)
            grads += lambda * W                             (L2 weight decay, if lambda > 0)
            opt.step(model.params, model.grads);  t += 1
        val_loss, val_acc = evaluate(model, x_val, y_val)  (evaluation mode)
        early stopping: remember the weights of the lowest val_loss; stop after ``patience``
        epochs without a new lowest, and put the best weights back (in place)

Every Module 1 recipe trains through :func:`fit`; :func:`evaluate` and :func:`predict` score a
model in evaluation mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from dlf.scratch.layers import Layer
from dlf.scratch.losses import l2_penalty, softmax_cross_entropy
from dlf.scratch.optim import Optimizer
from dlf.scratch.schedules import Schedule
from dlf.scratch.state import eval_mode, load_state_dict, state_dict

if TYPE_CHECKING:  # only a type here: training does not need matplotlib
    from dlf.runs import RunDir

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch (``epoch`` counts from 1).

    ``train_loss`` is the mean data loss (without the L2 term) over the epoch's mini-batches,
    taken in training mode as they went by, and ``train_acc`` the matching accuracy;
    ``val_loss``/``val_acc`` are measured after the epoch in evaluation mode (NaN without a
    validation set); ``lr`` is the learning rate of the epoch's last step. ``batch_loss`` holds
    every mini-batch's loss in order (an iteration-level curve). ``best_epoch`` has the lowest
    validation loss (None without validation); ``restored_best`` says whether the model now holds
    that epoch's weights; ``diverged`` whether a loss became NaN or infinite (training stops),
    ``diverged_step`` the update count and ``diverged_loss`` the loss when it did.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float = math.inf
    stopped_early: bool = False
    restored_best: bool = False
    diverged: bool = False
    diverged_step: int | None = None
    diverged_loss: float = math.nan

    @property
    def epochs_run(self) -> int:
        return len(self.epoch)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    def raise_if_diverged(self, what: str = "loss", advice: str = "") -> None:
        """Raise :class:`dlf.runs.Diverged` if training met a non-finite loss, else nothing.

        Example: after a NaN loss at update 12 -> ``Diverged("the loss became nan at
        step 12; try a lower lr")`` (``advice="try a lower lr"``).
        """
        if self.diverged:
            from dlf.runs.diverged import check_finite  # dlf.runs draws plots: only when needed

            check_finite(self.diverged_loss, self.diverged_step or 0, what, advice)


class Interrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C (or SIGTERM under ``dlf run``) inside :func:`fit`.

    ``history`` holds the epochs measured before it. If early stopping had kept a best epoch,
    the model holds that epoch's weights again and ``restored_epoch`` is its number; else
    ``restored_epoch`` is None and the model holds the weights as they stood (maybe within an
    epoch). It is a KeyboardInterrupt, so it ends the run as Ctrl-C does.
    """

    def __init__(self, history: History, restored_epoch: int | None):
        super().__init__("training interrupted")
        self.history = history
        self.restored_epoch = restored_epoch


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Mini-batches in one pass over ``n`` samples (the last may be smaller): ``ceil(n / B)``.

    Use it to size an iteration schedule: ``CosineAnnealing(lr, epochs * steps_per_epoch(n, B))``.
    Example: ``steps_per_epoch(54000, 128)`` -> 422.
    """
    return math.ceil(n / batch_size)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest score is the label: ``mean(argmax_c logits[i, c] == y_i)``.

    Shapes: ``logits`` (N, C), ``y`` (N,) integer labels. NaN when ``y`` is not integer labels
    (a regression target), so that one loop serves both. Example: ``accuracy([[2, 1], [0, 3]],
    [0, 0])`` -> 0.5.
    """
    logits, y = np.asarray(logits), np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer) or logits.ndim != y.ndim + 1:
        return math.nan
    return float(np.mean(np.argmax(logits, axis=-1) == y)) if y.size else math.nan


def predict(model: Layer, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs on ``x`` in evaluation mode, in chunks of ``batch_size`` rows.

    Shapes: ``x`` (N, ...) -> outputs (N, ...) (logits (N, C) for a classifier). The layers'
    modes are restored afterwards.
    """
    with eval_mode(model):
        chunks = [model.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return np.concatenate(chunks, axis=0)


def evaluate(
    model: Layer,
    x: np.ndarray,
    y: np.ndarray,
    loss_fn: LossFn = softmax_cross_entropy,
    batch_size: int = 1000,
) -> tuple[float, float]:
    """``(loss, accuracy)`` of ``model`` on ``(x, y)`` in evaluation mode (no dropout, BN frozen).

    The loss is ``loss_fn`` over the whole set (no weight-decay term); the accuracy is
    :func:`accuracy` (NaN for non-integer targets). Shapes: ``x`` (N, ...), ``y`` (N,).
    """
    out = predict(model, x, batch_size)
    return float(loss_fn(out, y)[0]), accuracy(out, y)


# A NaN or infinite loss is caught and reported once (history.diverged): no NumPy warnings.
@np.errstate(over="ignore", invalid="ignore")
def fit(
    model: Layer,
    loss_fn: LossFn,
    optimizer: Optimizer,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    epochs: int,
    batch_size: int = 128,
    schedule: Schedule | None = None,
    schedule_unit: Literal["iteration", "epoch"] = "iteration",
    weight_decay: float = 0.0,
    patience: int | None = None,
    rng: np.random.Generator | None = None,
    run_dir: RunDir | None = None,
    tags: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` by mini-batch gradient descent for up to ``epochs`` epochs (see module doc).

    - Mini-batches: a fresh permutation of the training set each epoch drawn from ``rng``
      (default ``np.random.default_rng(0)``: the same seed, the same batches).
    - ``schedule(t) -> lr`` sets ``optimizer.lr`` before every step. With
      ``schedule_unit="iteration"`` (default) ``t`` counts updates 0, 1, 2, ... over the whole
      run; with ``"epoch"`` ``t`` is the epoch index 0, 1, ... (constant within an epoch).
    - ``weight_decay`` = lambda > 0 adds the L2 term of :func:`dlf.scratch.losses.l2_penalty`,
      ``dR/dW = lambda W``, to the weight matrices' gradients (not biases or norm scales).
    - ``patience``: early stopping on validation loss. Training stops once ``patience`` epochs
      pass without a new lowest ``val_loss``, and the weights and buffers of the best epoch are
      copied back into the model in place (also when all epochs ran, and when training is
      interrupted: then :class:`Interrupted` is raised with the history so far). Needs a
      validation set.
    - ``run_dir``: each epoch becomes one line of its metrics.jsonl, ``{"step": epoch, **tags,
      "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}``, so several runs in one
      folder are told apart by ``tags`` (e.g. ``{"optimizer": "adam"}``) and read back with
      ``run_dir.series("val_loss", where=tags)``.

    Shapes: ``x_train`` (N, ...) as the model takes it, ``y_train`` (N,) labels for
    ``loss_fn(logits, y) -> (loss, dlogits)`` (or targets of any shape for ``mse``).
    Returns a :class:`History`. A NaN or infinite loss stops training (``history.diverged``)
    and puts back the last good weights: those of the best epoch with early stopping, else those
    at the start of a recent epoch that began with finite weights (at most 16 updates before
    that epoch). A recipe whose main result it was then calls ``history.raise_if_diverged()``.
    """
    if len(x_train) != len(y_train):
        raise ValueError(f"x_train has {len(x_train)} rows but y_train has {len(y_train)}")
    has_val = x_val is not None and y_val is not None
    if patience is not None and not has_val:
        raise ValueError("early stopping (patience) needs a validation set: pass x_val and y_val")
    if schedule_unit not in ("iteration", "epoch"):
        raise ValueError(f"schedule_unit must be 'iteration' or 'epoch', got {schedule_unit!r}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    rng = rng if rng is not None else np.random.default_rng(0)
    tags = dict(tags or {})
    label = " ".join(f"{k}={v}" for k, v in tags.items())
    history = History()
    best = None  # (epoch, its state): one assignment, so an interrupt never splits them
    last_good = None  # a state at the start of a recent epoch that began with finite weights
    n, t = len(x_train), 0
    # Copying the state costs about one small update: take it every 16 updates or more.
    snapshot_every = math.ceil(16 / steps_per_epoch(n, batch_size))
    epoch_iter = range(1, epochs + 1)
    if run_dir is not None:
        epoch_iter = run_dir.progress(epoch_iter, total=epochs, desc=label or "epochs")

    try:
        for epoch in epoch_iter:
            start = time.perf_counter()
            if last_good is None or ((epoch - 1) % snapshot_every == 0 and weights_finite(model)):
                last_good = state_dict(model)
            model.train()
            order = rng.permutation(n)
            loss_sum, correct = 0.0, 0.0
            for i in range(0, n, batch_size):
                idx = order[i : i + batch_size]
                xb, yb = x_train[idx], y_train[idx]
                if schedule is not None:
                    optimizer.lr = schedule(t if schedule_unit == "iteration" else epoch - 1)
                logits = model.forward(xb)
                loss, dlogits = loss_fn(logits, yb)
                if not math.isfinite(loss):
                    history.diverged, history.diverged_step = True, t
                    history.diverged_loss = float(loss)
                    break
                model.backward(dlogits)
                params, grads = model.params, model.grads
                if weight_decay > 0:
                    for k, g in l2_penalty(params, weight_decay)[1].items():
                        grads[k] += g
                optimizer.step(params, grads)
                t += 1
                history.batch_loss.append(loss)
                loss_sum += loss * len(idx)
                correct += accuracy(logits, yb) * len(idx)
            val_loss, val_acc = (
                evaluate(model, x_val, y_val, loss_fn)
                if has_val and not history.diverged
                else (math.nan,) * 2
            )
            if has_val and not history.diverged and not math.isfinite(val_loss):
                history.diverged, history.diverged_step = True, t  # the last step broke the weights
                history.diverged_loss = val_loss
            if history.diverged:
                load_state_dict(model, best[1] if best is not None else last_good)
                history.restored_best = best is not None
                if run_dir is not None:
                    run_dir.say(f"{label} epoch {epoch}: loss is not finite; training stopped")
                break
            record = {
                "train_loss": loss_sum / n,
                "train_acc": correct / n,
                "val_loss": val_loss,
                "val_acc": val_acc,
                "lr": float(optimizer.lr),
                "seconds": time.perf_counter() - start,
            }
            history.epoch.append(epoch)
            for key, value in record.items():
                getattr(history, key).append(value)
            if run_dir is not None:
                run_dir.log(epoch, **tags, **record)
                run_dir.say(
                    f"{label + ' ' if label else ''}epoch {epoch}/{epochs}: train_loss "
                    f"{record['train_loss']:.4f}, val_loss {val_loss:.4f}, val_acc {val_acc:.4f}"
                )

            if has_val and val_loss < history.best_val_loss:
                history.best_epoch, history.best_val_loss = epoch, val_loss
                if patience is not None:
                    best = (epoch, state_dict(model))
            elif patience is not None and epoch - (history.best_epoch or 0) >= patience:
                history.stopped_early = True
                break
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM under dlf run: keep what is worth keeping
        if best is not None:
            load_state_dict(model, best[1])
            history.restored_best = True
        raise Interrupted(history, best[0] if best else None) from None

    if best is not None and not history.diverged:
        load_state_dict(model, best[1])
        history.restored_best = True
    return history


def weights_finite(model: Layer) -> bool:
    """True if every parameter and buffer of ``model`` is finite (no NaN, no inf)."""
    return all(np.isfinite(a).all() for a in (*model.params.values(), *model.buffers.values()))
