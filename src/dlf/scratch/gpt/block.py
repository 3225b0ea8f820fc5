"""GPT's decoder block in NumPy: pre-norm residual sublayers of attention and a GELU MLP.

    x <- x + Attn(LN_1(x))                 dx = dy + LN_1'(Attn'(dy))   (the residual adds dy)
    x <- x + MLP(LN_2(x))                  MLP(x) = GELU(x W_fc + b_fc) W_proj + b_proj

Every piece is a Module 1 layer (``LayerNorm``, ``Linear``, ``GELU``) or
:class:`~dlf.scratch.gpt.attention.CausalSelfAttention`; a block only wires them.
"""

from __future__ import annotations

import numpy as np

from dlf.scratch.gpt.attention import CausalSelfAttention
from dlf.scratch.layers import GELU, Layer, LayerNorm, Linear
from dlf.scratch.layers.named import NamedLayers


class MLP(NamedLayers):
    """``GELU(x W_fc + b_fc) W_proj + b_proj``: (..., C) -> (..., 4C) -> (..., C), exact (erf)
    GELU; ``c_fc`` and ``c_proj`` hold W_fc (C, 4C) and W_proj (4C, C).

    Backward: through ``c_proj``, ``GELU`` and ``c_fc`` in reverse (each layer's own).
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
        self.c_fc = Linear(n_embd, 4 * n_embd, bias, dtype=dtype, rng=rng)
        self.gelu = GELU()
        self.c_proj = Linear(4 * n_embd, n_embd, bias, dtype=dtype, rng=rng)

    def named_children(self) -> list[tuple[str, Layer]]:
        return [("c_fc", self.c_fc), ("gelu", self.gelu), ("c_proj", self.c_proj)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.c_proj.forward(self.gelu.forward(self.c_fc.forward(x)))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.c_fc.backward(self.gelu.backward(self.c_proj.backward(dout)))


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
