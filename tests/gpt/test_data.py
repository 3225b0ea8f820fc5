"""Windows of a token stream, the contiguous split and the epoch sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlf.gpt.data import EpochSampler, TokenDataset, split_tokens


@pytest.mark.parametrize("n, fraction", [(10, 0.1), (1001, 0.1), (57, 0.3)])
def test_split_is_contiguous_and_disjoint(n, fraction):
    tokens = np.arange(n) * 7
    train, val = split_tokens(tokens, fraction)
    assert np.array_equal(np.concatenate([train, val]), tokens)
    assert len(val) == n - round(n * (1 - fraction))
    assert train[-1] < val[0]  # everything validated comes after everything trained on


@pytest.mark.parametrize("block_size", [1, 4, 9])
def test_windows_are_inputs_and_next_token_targets(block_size):
    tokens = np.arange(100, 130)
    data = TokenDataset(tokens, block_size)
    assert len(data) == 30 - block_size
    indices = np.array([0, 5, len(data) - 1])
    x, y = data.batch(indices)
    assert x.shape == y.shape == (3, block_size) and x.dtype == torch.long
    for row, i in enumerate(indices):
        assert x[row].tolist() == tokens[i : i + block_size].tolist()
        assert y[row].tolist() == tokens[i + 1 : i + block_size + 1].tolist()


def test_text_shorter_than_a_block_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than one block"):
        TokenDataset(np.arange(8), block_size=8)


@pytest.mark.parametrize("n, batch", [(10, 3), (64, 8), (7, 7)])
def test_sampler_draws_without_replacement_within_an_epoch(n, batch):
    sampler = EpochSampler(n, batch, seed=3)
    per_epoch = n // batch
    for epoch in range(3):
        seen = np.concatenate([sampler.next_batch() for _ in range(per_epoch)])
        assert len(set(seen.tolist())) == per_epoch * batch  # no index twice in an epoch
        assert sampler.epoch == epoch


def test_sampler_is_seeded_and_resumes_exactly():
    a, b = EpochSampler(50, 4, seed=1), EpochSampler(50, 4, seed=1)
    first = [a.next_batch().tolist() for _ in range(20)]
    assert first == [b.next_batch().tolist() for _ in range(20)]
    assert EpochSampler(50, 4, seed=2).next_batch().tolist() != first[0]  # another seed
    resumed = EpochSampler(50, 4, seed=1)
    resumed.load_state_dict(a.state_dict())
    assert [a.next_batch().tolist() for _ in range(20)] == [
        resumed.next_batch().tolist() for _ in range(20)
    ]


def test_sampler_batch_larger_than_data_is_a_clear_error():
    with pytest.raises(ValueError, match="lower the batch size"):
        EpochSampler(5, 6)
