"""Embedding table: integer ids -> learned vectors (a Linear layer applied to one-hot rows)."""

from __future__ import annotations

import numpy as np

from dlf.scratch.layers.base import Layer


class Embedding(Layer):
    """``y[..., :] = W[ids[...], :]``: row lookup in ``W`` of shape (num_embeddings, embedding_dim).

    Shapes: ``ids`` (...) integers in [0, num_embeddings) -> ``y`` (..., embedding_dim).
    Equivalent to ``one_hot(ids) @ W``, hence the backward: ``dW[i] = sum of dy over the
    positions where ids == i`` (rows of repeated ids add up). Ids have no gradient:
    ``backward`` returns None. ``W ~ N(0, 1)``, as torch.nn.Embedding.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        dtype: np.dtype | type = np.float32,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        rng = rng if rng is not None else np.random.default_rng()
        self.params["W"] = rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"Embedding expects integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise IndexError(
                f"Embedding ids must be in [0, {self.num_embeddings}), got values in "
                f"[{ids.min()}, {ids.max()}]"
            )
        self.ids = ids
        return self.params["W"][ids]

    def backward(self, dout: np.ndarray) -> None:
        if self.ids is None:
            raise RuntimeError("Embedding.backward called before forward")
        gW = self.grads["W"]
        gW.fill(0)
        np.add.at(gW, self.ids.reshape(-1), dout.reshape(-1, self.embedding_dim))
        return None

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
