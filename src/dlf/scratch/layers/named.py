"""A layer made of named sub-layers, whose parameters are named by their path in the tree.

``params``, ``grads`` and ``buffers`` are flat dicts keyed ``"<child>.<key>"`` down the tree
(``"h.0.attn.c_attn.W"``; ``Sequential`` names its children by position: ``"0.W"``), holding the
leaves' own arrays (:meth:`dlf.scratch.layers.base.Layer.flat`).
"""

from __future__ import annotations

from dlf.scratch.layers.base import Arrays, Layer


class NamedLayers(Layer):
    """Base class of a layer whose sub-layers have names: subclasses list them in order in
    :meth:`named_children` (a name may hold dots, e.g. ``"transformer.wte"``).

    The flat dicts are built on each access (the arrays are not copied), walking the tree with
    a stack. Example: a block with children ``ln_1`` (LayerNorm) and ``attn`` (with ``c_attn``, a
    Linear) has params ``ln_1.gamma, ln_1.beta, attn.c_attn.W, attn.c_attn.b``.
    """

    def __init__(self) -> None:
        # params/grads/buffers are properties over the children, so Layer.__init__ (which
        # assigns them) is not called.
        self.training = True

    def named_children(self) -> list[tuple[str, Layer]]:
        raise NotImplementedError(f"{type(self).__name__} must list its named_children()")

    def children(self) -> list[Layer]:
        return [layer for _, layer in self.named_children()]

    @property
    def params(self) -> Arrays:
        return self.flat("params")

    @property
    def grads(self) -> Arrays:
        return self.flat("grads")

    @property
    def buffers(self) -> Arrays:
        return self.flat("buffers")
