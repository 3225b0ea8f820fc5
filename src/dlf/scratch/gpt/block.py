"""GPT's decoder block in NumPy: pre-norm residual sublayers of attention and a GELU MLP.

    x <- x + Attn(LN_1(x))                 dx = dy + LN_1'(Attn'(dy))   (the residual adds dy)
    x <- x + MLP(LN_2(x))                  MLP(x) = GELU(x W_1 + b_1) W_2 + b_2,  W_1 (C, 4C)

Every piece is a Module 1 layer (``LayerNorm``, ``Linear``, ``GELU``) or
:class:`~dlf.scratch.gpt.attention.CausalSelfAttention`; a block only wires them.
"""

from __future__ import annotations

import numpy as np

from dlf.scratch.gpt.attention import CausalSelfAttention
from dlf.scratch.layers import GELU, Layer, LayerNorm, Linear
from dlf.scratch.layers.named import NamedLayers


class MLP(NamedLayers):
    """``GELU(x W_1 + b_1) W_2 + b_2``: (..., C) -> (..., 4C) -> (..., C), exact (erf) GELU.

    Backward: through ``W_2``, ``GELU`` and ``W_1`` in reverse (each layer's own).
    """

    def __init__(
        self,
        n_embd: int,
        bias: bool = True,
        *,
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.W_1 = Linear(n_embd, 4 * n_embd, bias, dtype=dtype, rng=rng)
        self.gelu = GELU()
        self.W_2 = Linear(4 * n_embd, n_embd, bias, dtype=dtype, rng=rng)

    def named_children(self) -> list[tuple[str, Layer]]:
        return [("W_1", self.W_1), ("gelu", self.gelu), ("W_2", self.W_2)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.W_2.forward(self.gelu.forward(self.W_1.forward(x)))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.W_1.backward(self.gelu.backward(self.W_2.backward(dout)))


class Block(NamedLayers):
    """One pre-norm decoder block: ``x + Attn(LN_1(x))``, then ``x + MLP(LN_2(x))``.

    Shapes: ``x`` (B, T, C) -> (B, T, C). Children ``ln_1``, ``attn``, ``ln_2``, ``mlp``, the
    names of ``dlf.gpt.model.Block``. ``bias=False``: no biases in the Linear layers, and the
    LayerNorms' ``beta`` stays 0 (the owner leaves it out of the trained parameters).
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        bias: bool = True,
        *,
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, dtype=dtype)
        self.attn = CausalSelfAttention(n_embd, n_head, bias, dtype=dtype, rng=rng)
        self.ln_2 = LayerNorm(n_embd, dtype=dtype)
        self.mlp = MLP(n_embd, bias, dtype=dtype, rng=rng)

    def named_children(self) -> list[tuple[str, Layer]]:
        return [("ln_1", self.ln_1), ("attn", self.attn), ("ln_2", self.ln_2), ("mlp", self.mlp)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = x + self.attn.forward(self.ln_1.forward(x))
        return x + self.mlp.forward(self.ln_2.forward(x))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = dout + self.ln_2.backward(self.mlp.backward(dout))
        return dx + self.ln_1.backward(self.attn.backward(dx))
