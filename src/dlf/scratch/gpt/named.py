"""A layer made of named sub-layers, whose parameters are named by their path in the tree.

``params``, ``grads`` and ``buffers`` are flat dicts keyed ``"<child>.<key>"`` down the tree
(``"h.0.attn.c_attn.W"``), holding the leaves' own arrays, as ``Sequential``'s do with indices.
"""

from __future__ import annotations

from dlf.scratch.layers.base import Arrays, Layer


class NamedLayers(Layer):
    """Base class of a layer whose sub-layers have names: subclasses list them in order in
    :meth:`named_children` (a name may hold dots, e.g. ``"wpe.embedding"``).

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

    def named_leaves(self) -> list[tuple[str, Layer]]:
        """Every layer without children, with its dotted path, in order.

        Example: for the block above -> ``[("ln_1", LayerNorm), ("attn.c_attn", Linear)]``.
        """
        leaves: list[tuple[str, Layer]] = []
        stack: list[tuple[str, Layer]] = [("", self)]
        while stack:
            path, layer = stack.pop()
            if isinstance(layer, NamedLayers):
                kids = [(f"{path}{name}.", child) for name, child in layer.named_children()]
                stack.extend(reversed(kids))
            elif layer.children():
                raise TypeError(f"{path[:-1]}: a container without names ({type(layer).__name__})")
            else:
                leaves.append((path[:-1], layer))
        return leaves

    def _flat(self, attr: str) -> Arrays:
        return {
            f"{path}.{key}": value
            for path, leaf in self.named_leaves()
            for key, value in getattr(leaf, attr).items()
        }

    @property
    def params(self) -> Arrays:
        return self._flat("params")

    @property
    def grads(self) -> Arrays:
        return self._flat("grads")

    @property
    def buffers(self) -> Arrays:
        return self._flat("buffers")
