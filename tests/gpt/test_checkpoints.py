"""Every Module 4 checkpoint passes, and the checks can fail."""

import pytest
import torch

from dlf.gpt.checkpoints import CHECKPOINTS, kept_set, random_unicode, trap_step_fn
from dlf.path.checkpoint import run_checkpoint


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=lambda c: c.name)
def test_checkpoint_passes(checkpoint):
    result = run_checkpoint(checkpoint)
    assert result.status == "pass", result.figure
    assert checkpoint.module == 4


def test_names_are_distinct():
    assert len({c.name for c in CHECKPOINTS}) == len(CHECKPOINTS) == 7


@pytest.mark.parametrize(
    ("probs", "top_k", "top_p", "kept"),
    [
        ([0.1, 0.5, 0.3, 0.1], None, 0.7, {1, 2}),
        ([0.1, 0.5, 0.3, 0.1], 2, None, {1, 2}),
        ([0.1, 0.5, 0.3, 0.1], 3, None, {0, 1, 2, 3}),  # tie at the 3rd value: both kept
        ([0.1, 0.5, 0.3, 0.1], 2, 0.5, {1}),
        ([0.25, 0.25, 0.25, 0.25], None, 1.0, {0, 1, 2, 3}),
    ],
)
def test_kept_set_follows_the_definition(probs, top_k, top_p, kept):
    assert kept_set(torch.tensor(probs).log().numpy(), top_k, top_p) == kept


def test_random_unicode_has_specials_and_wide_characters():
    import numpy as np

    text = "".join(random_unicode(np.random.default_rng(1), 60) for _ in range(20))
    assert "<|endoftext|>" in text and max(map(ord, text)) > 0xFFFF


def test_trap_step_fn_is_a_distribution():
    logits, _ = trap_step_fn(torch.tensor([[0], [1], [2]]), None)
    assert torch.allclose(logits.exp().sum(-1), torch.ones(3, dtype=torch.float64), atol=1e-4)


def test_the_numpy_gpt_check_fails_on_a_planted_backward_mistake(monkeypatch):
    from dlf.gpt.checkpoints import check_numpy_gpt_gradients
    from dlf.scratch.layers import LayerNorm
    from tests.scratch.test_gpt import planted

    wrong = planted(LayerNorm.backward, "g - mean_g - xhat * mean_gx", "g - mean_g")
    monkeypatch.setattr(LayerNorm, "backward", wrong)
    evidence = check_numpy_gpt_gradients()
    assert not evidence.passed and "max relative error" in evidence.figure
