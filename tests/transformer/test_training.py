from functools import partial

import pytest
import torch
import torch.nn.functional as F

from dlf.transformer import (
    LabelSmoothingLoss,
    bucket_by_length,
    noam_schedule,
    pad_batch,
    paper_optimizer,
)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("vocab", [2, 11])
def test_label_smoothing_matches_cross_entropy_with_padding(smoothing, shape, vocab):
    g = torch.Generator().manual_seed(vocab)
    logits = torch.randn(*shape, vocab, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, vocab, shape, generator=g)
    target.view(-1)[::3] = -1  # padding
    loss = LabelSmoothingLoss(smoothing, ignore_index=-1)(logits, target)
    expected = F.cross_entropy(
        logits.reshape(-1, vocab), target.reshape(-1), ignore_index=-1, label_smoothing=smoothing
    )
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-12)
    (grad,) = torch.autograd.grad(loss, logits)
    (expected_grad,) = torch.autograd.grad(expected, logits)
    torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-12)


def test_label_smoothing_of_all_padding_is_zero_not_nan():
    loss = LabelSmoothingLoss(0.1, ignore_index=0)(
        torch.randn(4, 5), torch.zeros(4, dtype=torch.long)
    )
    assert loss.item() == 0.0


@pytest.mark.parametrize(("d_model", "warmup"), [(512, 4000), (64, 100)])
def test_noam_schedule_rises_linearly_peaks_at_warmup_then_decays_as_inverse_sqrt(d_model, warmup):
    lr = partial(noam_schedule, d_model=d_model, warmup=warmup)
    peak = (d_model * warmup) ** -0.5
    assert lr(warmup) == pytest.approx(peak, rel=1e-12)
    assert max(lr(s) for s in range(1, 3 * warmup)) == pytest.approx(peak, rel=1e-12)
    assert lr(warmup // 4) == pytest.approx(peak / 4, rel=1e-12)  # linear warm-up
    assert lr(4 * warmup) == pytest.approx(peak / 2, rel=1e-12)  # inverse square root
    assert lr(0) == lr(1) > 0


def test_paper_optimizer_follows_the_schedule():
    params = [torch.nn.Parameter(torch.zeros(3))]
    optimizer, scheduler = paper_optimizer(params, d_model=16, warmup=10, lr_scale=2.0)
    assert optimizer.defaults["betas"] == (0.9, 0.98) and optimizer.defaults["eps"] == 1e-9
    seen = []
    for _ in range(25):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([2.0 * noam_schedule(s, 16, 10) for s in range(25)], rel=1e-12)


def test_pad_batch_worked_example_and_tensor_inputs():
    batch, lengths = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert batch.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    batch, lengths = pad_batch([torch.tensor([1]), torch.tensor([2, 3])], pad_id=9)
    assert batch.tolist() == [[1, 9], [2, 3]] and batch.dtype == torch.long
    with pytest.raises(ValueError, match="at least one"):
        pad_batch([], pad_id=0)


def test_bucket_by_length_worked_example():
    assert bucket_by_length([5, 1, 4, 2], batch_size=2) == [[1, 3], [2, 0]]


@pytest.mark.parametrize("seed", [None, 0, 1])
@pytest.mark.parametrize(("batch_size", "max_tokens"), [(4, None), (None, 40)])
def test_bucket_by_length_covers_every_index_once_with_little_padding(seed, batch_size, max_tokens):
    lengths = torch.randint(1, 20, (101,), generator=torch.Generator().manual_seed(5)).tolist()
    batches = bucket_by_length(lengths, batch_size=batch_size, max_tokens=max_tokens, seed=seed)
    assert sorted(i for batch in batches for i in batch) == list(range(101))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded - sum(lengths) < 0.1 * sum(lengths)
    if max_tokens is not None:
        assert all(len(b) * max(lengths[i] for i in b) <= max_tokens for b in batches if len(b) > 1)
    if seed is not None:
        assert batches == bucket_by_length(lengths, batch_size, max_tokens, seed=seed)
        assert batches != bucket_by_length(lengths, batch_size, max_tokens)  # order shuffled


def test_bucket_by_length_needs_exactly_one_size():
    with pytest.raises(ValueError, match="exactly one"):
        bucket_by_length([1, 2], batch_size=1, max_tokens=4)
