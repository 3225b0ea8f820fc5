"""The multilayer perceptron: ``Linear -> [BatchNorm] -> activation -> [Dropout]``, repeated."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers import (
    GELU,
    BatchNorm1d,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from dlf.scratch.state import eval_mode

ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
}


def mlp(
    sizes: tuple[int, ...] | list[int],
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    init: str = "he",
    *,
    dtype: np.dtype | type = np.float32,
    rng: np.random.Generator | None = None,
    parts: dict[str, type[Layer]] | None = None,
) -> Sequential:
    """A fully connected network with layer widths ``sizes = (d_0, d_1, ..., d_L)``.

    Each hidden layer ``l = 1 .. L-1`` is ``h_l = drop(act(BN(h_{l-1} W_l + b_l)))``; the last is
    the affine map ``logits = h_{L-1} W_L + b_L`` (no activation: losses take raw scores).
    BatchNorm, if asked for, sits between the affine map and the activation (Ioffe & Szegedy),
    and its ``beta`` replaces the bias, which BatchNorm would cancel. Dropout (inverted, drop
    probability ``dropout``) follows each hidden activation. ``init`` names the weight scheme
    of :func:`dlf.scratch.init.init_weight`; every random draw comes from ``rng``. ``parts``
    replaces layer classes by name (``{"Linear": MyLinear}``): a learner's own layers, with the
    same constructor, train in the same network.

    Shapes: ``x`` (N, d_0) -> logits (N, d_L). Example: ``mlp((784, 512, 256, 10))`` is
    ``Linear(784, 512), ReLU, Linear(512, 256), ReLU, Linear(256, 10)``: 535,818 parameters.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"mlp needs at least (in, out) positive sizes, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: use one of {', '.join(ACTIVATIONS)}")
    rng = rng if rng is not None else np.random.default_rng()
    parts = parts or {}

    def part(cls: type[Layer]) -> type[Layer]:
        return parts.get(cls.__name__, cls)

    layers: list[Layer] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(
            part(Linear)(d_in, d_out, bias=last or not batch_norm, init=init, dtype=dtype, rng=rng)
        )
        if last:
            break
        if batch_norm:
            layers.append(part(BatchNorm1d)(d_out, dtype=dtype))
        layers.append(part(ACTIVATIONS[activation])())
        if dropout > 0:
            layers.append(part(Dropout)(dropout, rng=rng))
    return Sequential(*layers)


def architecture_rows(model: Sequential, in_shape: tuple[int, ...]) -> list[list]:
    """One row per layer: ``[index, layer, output shape, parameters]``, for a report table.

    Runs one forward pass in evaluation mode on zeros of shape ``(1, *in_shape)`` to find each
    output shape; the model's mode is restored. Example, for ``mlp((4, 3, 2))`` and ``(4,)``:
    ``[[0, "Linear(...)", "(3,)", 15], [1, "ReLU()", "(3,)", 0], [2, "Linear(...)", "(2,)", 8]]``.
    """
    x = np.zeros((1, *in_shape), dtype=next(iter(model.params.values())).dtype)
    rows = []
    with eval_mode(model):
        for i, layer in enumerate(model.layers):
            x = layer.forward(x)
            rows.append([i, repr(layer), str(tuple(x.shape[1:])), layer.num_parameters()])
    return rows
