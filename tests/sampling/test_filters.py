"""filter_logits, temperature and the repetition penalty: their rules, on random and hand-built
logits (the kept sets are recomputed here from their definitions, in float64)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlf.sampling import (
    apply_repetition_penalty,
    apply_temperature,
    filter_logits,
    sample,
)

logit_rows = arrays(
    np.float64,
    st.integers(1, 40),
    elements=st.floats(-20, 20, allow_nan=False, allow_infinity=False),
)


def probs_of(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()


@settings(max_examples=200, deadline=None, database=None)
@given(logit_rows, st.integers(1, 45))
def test_top_k_keeps_exactly_the_values_at_or_above_the_kth(logits, k):
    kept = torch.isfinite(filter_logits(torch.from_numpy(logits), top_k=k)).numpy()
    if k >= len(logits):
        assert kept.all()
        return
    kth = np.sort(logits)[::-1][k - 1]
    np.testing.assert_array_equal(kept, logits >= kth)
    assert kept.sum() >= k


@settings(max_examples=200, deadline=None, database=None)
@given(logit_rows, st.floats(1e-6, 1.0))
def test_top_p_keeps_the_smallest_most_probable_set_reaching_p(logits, p):
    out = filter_logits(torch.from_numpy(logits), top_p=p)
    kept = torch.isfinite(out).numpy()
    probs = probs_of(logits)
    assert kept.sum() >= 1
    np.testing.assert_array_equal(out.numpy()[kept], logits[kept])  # kept logits unchanged
    # most probable first: no dropped token is more probable than a kept one
    if (~kept).any():
        assert probs[~kept].max() <= probs[kept].min()
    # reaches p, and is the smallest such set: without its least probable token it would not
    assert probs[kept].sum() >= p - 1e-12
    assert probs[kept].sum() - probs[kept].min() < p + 1e-12


@pytest.mark.parametrize(
    "probs, p, expected",
    [
        ([0.1, 0.5, 0.3, 0.1], 0.7, [1, 2]),
        ([0.1, 0.5, 0.3, 0.1], 0.79, [1, 2]),
        ([0.1, 0.5, 0.3, 0.1], 0.5, [1]),  # reaching p is enough
        ([0.1, 0.5, 0.3, 0.1], 0.81, [0, 1, 2]),  # tie at 0.1: the lower id ranks first
        ([0.1, 0.5, 0.3, 0.1], 0.01, [1]),  # always at least one token
        ([0.1, 0.5, 0.3, 0.1], 1.0, [0, 1, 2, 3]),
        ([0.25, 0.25, 0.25, 0.25], 0.5, [0, 1]),
    ],
)
def test_top_p_worked_examples(probs, p, expected):
    logits = torch.tensor(probs, dtype=torch.float64).log()
    kept = torch.nonzero(torch.isfinite(filter_logits(logits, top_p=p))).reshape(-1)
    assert kept.tolist() == expected


def test_top_k_ties_at_the_kth_value_are_kept():
    out = filter_logits(torch.tensor([1.0, 3.0, 2.0, 2.0]), top_k=2)
    assert torch.isfinite(out).tolist() == [False, True, True, True]


def test_filters_work_on_batched_rows_and_compose():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 50, generator=gen, dtype=torch.float64)
    both = filter_logits(logits, top_k=10, top_p=0.5)
    for index in np.ndindex(3, 5):
        row = filter_logits(filter_logits(logits[index], top_k=10), top_p=0.5)
        torch.testing.assert_close(both[index], row, rtol=0, atol=0)
    assert (torch.isfinite(both).sum(-1) <= 10).all()
    assert not torch.equal(both, logits)  # input untouched, output filtered
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("top_k, top_p", [(5, None), (None, 0.6), (8, 0.8)])
def test_sampling_never_leaves_the_kept_set_and_matches_its_distribution(top_k, top_p):
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(30, generator=gen, dtype=torch.float64) * 2
    filtered = filter_logits(logits, top_k=top_k, top_p=top_p)
    allowed = torch.isfinite(filtered)
    n = 40_000
    draws = sample(logits.expand(n, -1), top_k=top_k, top_p=top_p, generator=gen)
    assert allowed[draws].all()
    freq = torch.bincount(draws, minlength=30).double() / n
    expected = torch.softmax(filtered, -1)
    sigma = (expected * (1 - expected) / n).sqrt()
    assert ((freq - expected).abs() <= 5 * sigma + 1e-12).all()


def test_temperature_scales_logits_and_zero_means_greedy():
    logits = torch.tensor([[2.0, 0.0, 1.0]])
    torch.testing.assert_close(apply_temperature(logits, 0.5), torch.tensor([[4.0, 0.0, 2.0]]))
    assert sample(logits, temperature=0).tolist() == [0]
    with pytest.raises(ValueError, match="greedy"):
        apply_temperature(logits, 0.0)
    # a low temperature concentrates the draws on the argmax
    gen = torch.Generator().manual_seed(0)
    cold = sample(logits.expand(2000, -1), temperature=0.05, generator=gen)
    assert (cold == 0).all()


def test_seeded_sampling_reproduces():
    logits = torch.randn(4, 100, generator=torch.Generator().manual_seed(3))
    a = [sample(logits, top_p=0.9, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(a[0], a[1])
    c = sample(logits[0].expand(64, -1), generator=torch.Generator().manual_seed(7))
    d = sample(logits[0].expand(64, -1), generator=torch.Generator().manual_seed(8))
    assert not torch.equal(c, d)


def test_repetition_penalty_is_ctrls_rule():
    logits = torch.tensor([2.0, -1.0, 0.5, 3.0])
    out = apply_repetition_penalty(logits, torch.tensor([0, 1, 0]), 2.0)
    assert out.tolist() == [1.0, -2.0, 0.5, 3.0]  # seen tokens penalised once, others unchanged
    assert logits.tolist() == [2.0, -1.0, 0.5, 3.0]
    assert torch.equal(apply_repetition_penalty(logits, torch.tensor([0, 3]), 1.0), logits)


@settings(max_examples=50, deadline=None, database=None)
@given(
    arrays(np.float64, (3, 12), elements=st.floats(-10, 10, allow_nan=False)),
    arrays(np.int64, (3, 5), elements=st.integers(0, 11)),
    st.floats(1.0, 5.0),
)
def test_repetition_penalty_lowers_seen_tokens_only(logits, previous, penalty):
    out = apply_repetition_penalty(torch.from_numpy(logits), torch.from_numpy(previous), penalty)
    out = out.numpy()
    for row in range(3):
        seen = set(previous[row].tolist())
        for token in range(12):
            z = logits[row, token]
            if token in seen:
                want = z / penalty if z > 0 else z * penalty
                assert math.isclose(out[row, token], want, rel_tol=1e-12, abs_tol=1e-12)
                assert out[row, token] <= z
            else:
                assert out[row, token] == z


def test_bad_arguments_say_what_to_do():
    logits = torch.zeros(5)
    with pytest.raises(ValueError, match="top_k=None"):
        filter_logits(logits, top_k=0)
    with pytest.raises(ValueError, match="top_p=None"):
        filter_logits(logits, top_p=1.5)
    with pytest.raises(ValueError, match="leading dimensions"):
        apply_repetition_penalty(torch.zeros(2, 5), torch.zeros(3, 1, dtype=torch.long), 1.2)
