"""The protocol every ``dlf.scratch`` layer keeps (CS231n's forward/backward pairs as objects).

    y  = layer.forward(x)        # also layer(x); caches what backward needs
    dx = layer.backward(dy)      # dL/dx from dL/dy; writes dL/dparam into layer.grads

``params`` and ``grads`` are dicts of NumPy arrays with the same keys and shapes. Optimizers update
``params[k]`` IN PLACE, so a layer never rebinds ``params[k]`` after construction (only
:meth:`Layer.astype` does, before any optimizer is built). ``backward`` likewise writes each
gradient into the array already held by ``grads[k]`` (overwriting, not accumulating), so a dict of
gradients taken once stays valid. A layer told that its input needs no gradient (the first layer
of a network: ``Linear(..., needs_input_grad=False)``) returns None from ``backward``, as the
data need no gradient. Non-trainable state (BatchNorm's running statistics) lives in
``buffers``. ``train()`` / ``eval()`` set ``training`` on a layer and all its sub-layers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

Arrays = dict[str, np.ndarray]


class Layer:
    """Base class: ``forward(x) -> y``, ``backward(dy) -> dx``, ``params``/``grads``/``buffers``.

    Subclasses set their arrays in ``__init__`` (after ``super().__init__()``) and implement
    :meth:`forward` and :meth:`backward`. Containers (``Sequential``) also override
    :meth:`children`.
    """

    def __init__(self) -> None:
        self.params: Arrays = {}
        self.grads: Arrays = {}
        self.buffers: Arrays = {}
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dout)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def children(self) -> list[Layer]:
        """Direct sub-layers (none for a leaf layer)."""
        return []

    def named_children(self) -> list[tuple[str, Layer]]:
        """Direct sub-layers with their names: their positions ``"0", "1", ...`` unless the
        container names them (the GPT's ``"h.0"``, ``"attn"``, ...)."""
        return [(str(i), child) for i, child in enumerate(self.children())]

    def named_leaves(self) -> list[tuple[str, Layer]]:
        """Every layer without children below this one, with its dotted path, in order.

        Walked with a stack (no recursion). Example: ``Sequential(Linear, ReLU, Linear)`` ->
        ``[("0", Linear), ("1", ReLU), ("2", Linear)]``.
        """
        leaves: list[tuple[str, Layer]] = []
        stack: list[tuple[str, Layer]] = [("", self)]
        while stack:
            path, layer = stack.pop()
            kids = layer.named_children()
            if kids:
                stack.extend(reversed([(f"{path}{name}.", child) for name, child in kids]))
            else:
                leaves.append((path[:-1], layer))
        return leaves

    def flat(self, attr: str) -> Arrays:
        """``attr`` ("params", "grads" or "buffers") of every leaf below, keyed by dotted path
        (``"0.W"``, ``"1.0.W"``, ``"h.0.attn.c_attn.W"``): the leaves' own arrays, not copies,
        so an optimizer's in-place update reaches the layer. Containers serve their ``params``,
        ``grads`` and ``buffers`` this way."""
        return {
            f"{path}.{key}": value
            for path, leaf in self.named_leaves()
            for key, value in getattr(leaf, attr).items()
        }

    def modules(self) -> Iterator[Layer]:
        """This layer and every sub-layer, depth first, walked with a stack (no recursion)."""
        stack: list[Layer] = [self]
        while stack:
            layer = stack.pop()
            yield layer
            stack.extend(reversed(layer.children()))

    def train(self, mode: bool = True) -> Layer:
        """Set training mode (``mode=True``) or evaluation mode on this layer and its sub-layers."""
        for layer in self.modules():
            layer.training = mode
        return self

    def eval(self) -> Layer:
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every gradient array to 0 in place."""
        for g in self.grads.values():
            g.fill(0)

    def astype(self, dtype: np.dtype | type) -> Layer:
        """Convert params, grads and buffers of this layer and its sub-layers to ``dtype``.

        Used to run gradient checks in float64. It replaces the arrays, so call it before an
        optimizer is built (optimizers hold on to the parameter arrays).
        """
        for layer in self.modules():
            if layer.children():  # a container's dicts are views of its children's arrays
                continue
            for arrays in (layer.params, layer.grads, layer.buffers):
                for k in arrays:
                    arrays[k] = arrays[k].astype(dtype)
        return self

    def num_parameters(self) -> int:
        """Total number of trainable scalars, e.g. ``Linear(784, 10)`` -> 7850."""
        return sum(int(p.size) for p in self.params.values())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
