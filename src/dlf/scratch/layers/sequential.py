"""Sequential: a chain of layers, forward in order and backward in reverse (the chain rule)."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.base import Layer
from dlf.scratch.layers.named import NamedLayers


class Sequential(NamedLayers):
    """``y = f_n(... f_2(f_1(x)))``; backward feeds ``dy`` through the layers in reverse.

    ``params``, ``grads`` and ``buffers`` are flat dicts over all sub-layers, keyed
    ``"<index>.<name>"`` (``"0.W"``, ``"0.b"``, ``"2.gamma"``; nested: ``"1.0.W"``). They hold the
    children's own array objects, so an optimizer's in-place update of ``params["0.W"]`` is an
    update of ``layers[0].params["W"]``. The dicts are built on each access; the arrays are not.
    """

    def __init__(self, *layers: Layer) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential takes Layer instances, got {type(layer).__name__} at position {i}"
                )
        self.layers: list[Layer] = list(layers)
        self.training = True

    def children(self) -> list[Layer]:
        return self.layers

    def named_children(self) -> list[tuple[str, Layer]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """Chain rule in reverse; None when the first layer skips ``dx`` (``needs_input_grad``)."""
        for i in reversed(range(len(self.layers))):
            dout = self.layers[i].backward(dout)
            if dout is None and i > 0:
                raise RuntimeError(
                    f"layer {i} ({self.layers[i]!r}) returned no input gradient, but the layers "
                    "before it need one: set needs_input_grad=False only on the first layer"
                )
        return dout

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __repr__(self) -> str:
        lines: list[str] = []
        # Items are (depth, label, layer), or (depth, ")", None) to close a container.
        stack: list[tuple[int, str, Layer | None]] = [(0, "", self)]
        while stack:
            depth, label, layer = stack.pop()
            indent = "  " * depth
            if layer is None:
                lines.append(indent + ")")
            elif isinstance(layer, Sequential):
                lines.append(f"{indent}{label}Sequential(")
                stack.append((depth, ")", None))
                for i in reversed(range(len(layer.layers))):
                    stack.append((depth + 1, f"({i}): ", layer.layers[i]))
            else:
                lines.append(f"{indent}{label}{layer!r}")
        return "\n".join(lines)
