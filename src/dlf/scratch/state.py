"""A model's state as a flat dict of arrays: copy it out (snapshots, files) and back IN PLACE."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from dlf.scratch.layers import Layer

Arrays = dict[str, np.ndarray]


def state_dict(model: Layer) -> Arrays:
    """Copies of every parameter and buffer: ``{"0.W": ..., "1.running_mean": ...}``.

    Keys are those of ``model.params`` and ``model.buffers`` (a parameter and a buffer never
    share a name). The copies do not change when the model trains on, so this is a snapshot
    (early stopping keeps the best one) and what goes into a weights file.
    Example: for ``mlp((4, 3, 2))`` -> keys ``0.W, 0.b, 2.W, 2.b``.
    """
    arrays = {**model.params, **model.buffers}
    return {k: np.array(v, copy=True) for k, v in arrays.items()}


def load_state_dict(model: Layer, state: Arrays) -> None:
    """Copy ``state`` into the model's parameter and buffer arrays IN PLACE.

    In place (``p[...] = state[k]``) because optimizers hold the parameter arrays themselves: a
    rebound array would leave the optimizer updating a stale copy. The keys must match
    :func:`state_dict`'s exactly, and the shapes too; the model's dtype is kept.
    """
    arrays = {**model.params, **model.buffers}
    missing, unexpected = set(arrays) - set(state), set(state) - set(arrays)
    if missing or unexpected:
        raise KeyError(
            f"state does not fit this model: missing {sorted(missing)}, unexpected "
            f"{sorted(unexpected)}; build the model with the same sizes and options"
        )
    for k, a in arrays.items():
        if a.shape != np.shape(state[k]):
            raise ValueError(f"{k}: model has shape {a.shape}, state has {np.shape(state[k])}")
        a[...] = state[k]


@contextmanager
def eval_mode(model: Layer) -> Iterator[Layer]:
    """``with eval_mode(model):`` runs the block in evaluation mode, then restores every mode.

    Dropout is the identity and BatchNorm uses its running statistics inside; a model that was
    training (or partly so) is left exactly as it was.
    """
    modes = [(layer, layer.training) for layer in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for layer, mode in modes:
            layer.training = mode
