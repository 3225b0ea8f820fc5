"""Toy models behind the step_fn contract, shared by the generation and beam-search tests."""

import numpy as np
import pytest
import torch


class MarkovModel:
    """Next-token log-probabilities from a fixed table indexed by the last token: (V, V)."""

    def __init__(self, table: torch.Tensor):
        self.log_table = table.double().log()
        self.calls: list[tuple[int, ...]] = []

    def step_fn(self, ids, cache):
        self.calls.append(tuple(ids.shape))
        return self.log_table[ids[:, -1]], None

    def log_prob(self, prompt: list[int], ids: list[int]) -> float:
        seq = prompt + ids
        return float(sum(self.log_table[a, b] for a, b in zip(seq[:-1], seq[1:], strict=False)))


def random_table(vocab: int, seed: int, concentration: float = 0.5) -> torch.Tensor:
    """A (V, V) table of next-token distributions, rows drawn from a Dirichlet."""
    rows = np.random.default_rng(seed).dirichlet(np.full(vocab, concentration), size=vocab)
    rows = rows + 1e-3  # every transition possible
    return torch.from_numpy(rows / rows.sum(-1, keepdims=True))


class HistoryModel:
    """Logits depending on the whole history (last token and sum of ids mod 3), computed either
    from ``ids`` (no cache) or from a cache of the ids already seen, shape (B, T_seen). The cached
    step checks that its cache rows are the prefixes of ``ids``: wrong beam reordering fails."""

    def __init__(self, vocab: int, seed: int):
        gen = torch.Generator().manual_seed(seed)
        self.table = torch.randn(vocab, 3, vocab, generator=gen, dtype=torch.float64) * 2

    def logits(self, history: torch.Tensor) -> torch.Tensor:
        return self.table[history[:, -1], history.sum(-1) % 3]

    def step_fn(self, ids, cache):
        return self.logits(ids), None

    def cached_step_fn(self, ids, cache):
        if cache is None:
            cache = ids.clone()
        else:
            seen = cache["ids"]
            assert torch.equal(seen, ids[:, : seen.shape[1]]), "cache rows do not follow beams"
            assert cache["length"] == seen.shape[1]
            cache = torch.cat([seen, ids[:, seen.shape[1] :]], dim=1)
        return self.logits(cache), {"ids": cache, "length": cache.shape[1]}


@pytest.fixture
def toys():
    """The toy model classes and table maker (factories, so tests can parametrise them)."""

    class Toys:
        markov = MarkovModel
        history = HistoryModel
        table = staticmethod(random_table)

    return Toys
