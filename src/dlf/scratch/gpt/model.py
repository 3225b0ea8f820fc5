"""A decoder-only GPT in NumPy, every backward written out: the twin of ``dlf.gpt.GPT``.

    h_0    = W_te[x] + W_pe[0..T-1]           ids x (B, T) -> (B, T, C)
    h_l    = Block_l(h_{l-1}),  l = 1..L      pre-norm attention and GELU MLP (block.py)
    logits = LN_f(h_L) W_te^T                 (B, T, V): lm_head tied to the token embedding
    loss   = -1/(B T) sum_{b,t} log softmax(logits[b, t])[y[b, t]]

Backward, from ``dlogits = (softmax(logits) - onehot(y)) / (B T)`` (``softmax_cross_entropy``)
down through ``lm_head``, ``LN_f`` and the blocks in reverse, each layer its own backward, to
``dh_0``; then

    dW_pe[t] = sum_b dh_0[b, t]
    dW_te    = dlogits^T LN_f(h_L)  +  sum over the positions where x = i of dh_0   (row i)

the tied matrix taking the sum of its two paths (the output layer's and the embedding's).
"""

from __future__ import annotations

import math

import numpy as np

from dlf.scratch.gpt.block import Block
from dlf.scratch.layers import Embedding, Layer, LayerNorm, Linear
from dlf.scratch.layers.named import NamedLayers
from dlf.scratch.losses import softmax_cross_entropy

Arrays = dict[str, np.ndarray]
# Our layers' array names -> torch's (nn.Linear, nn.LayerNorm and nn.Embedding).
TORCH_LEAF_NAMES = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}
RESIDUAL_PROJECTIONS = ("attn.c_proj", "mlp.c_proj")
WTE = "transformer.wte.weight"  # the tied matrix's torch name


class GPT(NamedLayers):
    """The GPT language model: ids (B, T) -> next-token logits (B, T, vocab_size), in NumPy.

    The shape arguments are ``dlf.gpt.GPTConfig``'s (``bias=False``: no biases in the Linear
    and LayerNorm layers); no dropout. ``loss(idx, targets)`` runs the forward pass and returns
    the mean cross-entropy; ``backward()`` then fills the gradients and returns them with
    torch's names and layouts (:meth:`gradients`). ``params``/``grads`` are the model's own
    arrays with our names (``"transformer.h.0.attn.c_attn.W"``, W as (in, out)): hand them to
    an optimizer.
    ``state_dict()`` / ``from_state_dict()`` / ``load_state_dict()`` speak
    ``dlf.gpt.GPT(...).state_dict()``'s keys and shapes (a Linear's ``weight`` is our ``W^T``).

    Initialisation (GPT-2's, as ``dlf.gpt.GPT``): Linear and Embedding weights ~ N(0, 0.02^2),
    biases 0, LayerNorm gain 1 and shift 0; ``attn.c_proj`` and ``mlp.c_proj`` ~ N(0, (0.02 /
    sqrt(2 L))^2). ``lm_head`` is a Linear whose ``W`` is a view ``W_te^T`` of the token
    embedding: one matrix, counted and updated once.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int,
        n_head: int,
        n_embd: int,
        bias: bool = True,
        *,
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if min(vocab_size, block_size, n_layer, n_head, n_embd) < 1:
            raise ValueError("vocab_size, block_size, n_layer, n_head, n_embd must be >= 1")
        rng = rng if rng is not None else np.random.default_rng()
        self.vocab_size, self.block_size, self.n_layer = vocab_size, block_size, n_layer
        self.n_head, self.n_embd, self.bias = n_head, n_embd, bias
        self.wte = Embedding(vocab_size, n_embd, dtype=dtype, rng=rng)
        self.wpe = Embedding(block_size, n_embd, dtype=dtype, rng=rng)
        self.h = [Block(n_embd, n_head, bias, dtype=dtype, rng=rng) for _ in range(n_layer)]
        self.ln_f = LayerNorm(n_embd, dtype=dtype)
        self.lm_head = Linear(n_embd, vocab_size, bias=False, dtype=dtype)
        self._tie()
        # torch name -> (our name, stored transposed); LayerNorm's beta is no parameter
        # without bias (it stays 0).
        self.torch_names: dict[str, tuple[str, bool]] = {
            f"{path}.{TORCH_LEAF_NAMES[key]}": (
                f"{path}.{key}",
                isinstance(leaf, Linear) and key == "W",
            )
            for path, leaf in self.named_leaves()
            for key in leaf.params
            if bias or key != "beta"
        }
        self.torch_names["lm_head.weight"] = ("transformer.wte.W", False)
        self._trained = {name for name, _ in self.torch_names.values()}
        self._dlogits: np.ndarray | None = None
        init_gpt2(self, rng)

    def _tie(self) -> None:
        self.lm_head.params["W"] = self.wte.params["W"].T  # a view: the tied matrix

    def named_children(self) -> list[tuple[str, Layer]]:
        blocks = [(f"transformer.h.{i}", block) for i, block in enumerate(self.h)]
        embeddings = [("transformer.wte", self.wte), ("transformer.wpe", self.wpe)]
        return [*embeddings, *blocks, ("transformer.ln_f", self.ln_f)]

    @property
    def params(self) -> Arrays:
        return {k: v for k, v in super().params.items() if k in self._trained}

    @property
    def grads(self) -> Arrays:
        return {k: v for k, v in super().grads.items() if k in self._trained}

    @property
    def dtype(self) -> np.dtype:
        return self.wte.params["W"].dtype

    def astype(self, dtype: np.dtype | type) -> GPT:
        """Every array in ``dtype`` (new arrays: call before building an optimizer)."""
        super().astype(dtype)
        self.lm_head.grads["W"] = self.lm_head.grads["W"].astype(dtype)
        self._tie()
        return self

    def forward(self, idx: np.ndarray) -> np.ndarray:
        """Logits (B, T, V) of the ids ``idx`` (B, T), T <= block_size."""
        idx = np.asarray(idx)
        if idx.ndim != 2 or not 1 <= idx.shape[1] <= self.block_size:
            raise ValueError(
                f"idx must be (B, T) ids with 1 <= T <= block_size={self.block_size}, got shape "
                f"{idx.shape}: crop the input to its last block_size tokens"
            )
        x = self.wte.forward(idx) + self.wpe.forward(np.arange(idx.shape[1]))
        for block in self.h:
            x = block.forward(x)
        return self.lm_head.forward(self.ln_f.forward(x))

    def loss(self, idx: np.ndarray, targets: np.ndarray) -> float:
        """Mean cross-entropy of the next-token predictions for ``idx`` against ``targets``
        (both (B, T) ids); keeps ``dL/dlogits`` for :meth:`backward`."""
        loss, self._dlogits = softmax_cross_entropy(self.forward(idx), targets)
        return loss

    def backward(self) -> Arrays:
        """Gradients of the last :meth:`loss` into ``grads``; returns :meth:`gradients`."""
        if self._dlogits is None:
            raise RuntimeError("GPT.backward called before loss(idx, targets)")
        d = self.ln_f.backward(self.lm_head.backward(self._dlogits))
        for block in reversed(self.h):
            d = block.backward(d)
        self.wpe.backward(d.sum(axis=0))
        self.wte.backward(d)
        self.wte.grads["W"] += self.lm_head.grads["W"].T  # the tied matrix: both paths
        self._dlogits = None
        return self.gradients()

    def gradients(self) -> Arrays:
        """The gradients with torch's names and shapes (views of ``grads``: the next backward
        overwrites them); ``lm_head.weight`` is ``transformer.wte.weight``'s, the sum of both
        paths."""
        return _torch_layout(self.grads, self.torch_names)

    def state_dict(self) -> Arrays:
        """Copies of the parameters with the keys and shapes of ``dlf.gpt.GPT.state_dict()``
        (``lm_head.weight`` and ``transformer.wte.weight`` are one array, as the two are one
        tensor)."""
        out = {}
        for torch_name, value in _torch_layout(self.params, self.torch_names).items():
            out[torch_name] = out[WTE] if torch_name == "lm_head.weight" else value.copy()
        return out

    def load_state_dict(self, arrays: Arrays) -> None:
        """Copy ``arrays`` (``dlf.gpt.GPT.state_dict()``'s keys and shapes) into the parameters,
        IN PLACE, in the model's dtype. ``lm_head.weight``, if given, must equal
        ``transformer.wte.weight``."""
        missing = set(self.torch_names) - set(arrays) - {"lm_head.weight"}
        unexpected = set(arrays) - set(self.torch_names)
        if missing or unexpected:
            raise KeyError(
                f"state does not fit this GPT: missing {sorted(missing)}, unexpected "
                f"{sorted(unexpected)}; build it with the same n_layer and bias"
            )
        if "lm_head.weight" in arrays and not np.array_equal(
            np.asarray(arrays["lm_head.weight"]), np.asarray(arrays[WTE])
        ):
            raise ValueError(f"lm_head.weight differs from {WTE}: this GPT ties the two")
        params = self.params
        for torch_name, (name, transposed) in self.torch_names.items():
            if torch_name == "lm_head.weight":
                continue
            value = np.asarray(arrays[torch_name])
            ours = params[name].T if transposed else params[name]
            if value.shape != ours.shape:
                raise ValueError(
                    f"{torch_name}: the model has shape {ours.shape}, the state {value.shape}"
                )
            ours[...] = value

    @classmethod
    def from_state_dict(
        cls, arrays: Arrays, n_head: int, dtype: np.dtype | type | None = None
    ) -> GPT:
        """The GPT holding ``arrays``, a ``dlf.gpt.GPT(config).state_dict()`` as NumPy arrays.

        The shapes give vocab_size, n_embd (``transformer.wte.weight``), block_size
        (``transformer.wpe.weight``), n_layer and bias; the head count is not in the weights: pass
        ``config.n_head``. ``dtype``: the arrays' own by default.
        Example: ``GPT.from_state_dict({k: v.numpy() for k, v in torch_gpt.state_dict().items()},
        n_head=torch_gpt.config.n_head)``.
        """
        wte = np.asarray(arrays[WTE])
        n_layer = 0
        while f"transformer.h.{n_layer}.ln_1.weight" in arrays:
            n_layer += 1
        model = cls(
            vocab_size=wte.shape[0],
            block_size=np.shape(arrays["transformer.wpe.weight"])[0],
            n_layer=n_layer,
            n_head=n_head,
            n_embd=wte.shape[1],
            bias="transformer.ln_f.bias" in arrays,
            dtype=dtype or wte.dtype,
            rng=np.random.default_rng(0),
        )
        model.load_state_dict(arrays)
        return model

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, block_size={self.block_size}, n_layer={self.n_layer}, "
            f"n_head={self.n_head}, n_embd={self.n_embd}, bias={self.bias}, dtype={self.dtype}"
        )


def _torch_layout(arrays: Arrays, torch_names: dict[str, tuple[str, bool]]) -> Arrays:
    """``{torch name: arrays[our name]}``, transposed (a view) where torch stores ``W^T``.

    Example: ``{"h.0.attn.c_attn.W": (C, 3C)}`` -> ``{"h.0.attn.c_attn.weight": (3C, C)}``.
    """
    return {t: arrays[n].T if tr else arrays[n] for t, (n, tr) in torch_names.items()}


def init_gpt2(model: GPT, rng: np.random.Generator) -> None:
    """GPT-2's initialisation, in place (see :class:`GPT`): every Linear and Embedding weight
    ~ N(0, 0.02^2), biases 0; the projections that end a residual branch ~ N(0, (0.02 /
    sqrt(2 n_layer))^2), so the residual stream's variance does not grow with depth."""
    residual_std = 0.02 / math.sqrt(2 * model.n_layer)
    for path, leaf in model.named_leaves():
        if isinstance(leaf, (Linear, Embedding)):
            W = leaf.params["W"]
            std = residual_std if path.endswith(RESIDUAL_PROJECTIONS) else 0.02
            W[...] = rng.standard_normal(W.shape) * std
        if "b" in leaf.params:
            leaf.params["b"].fill(0)
