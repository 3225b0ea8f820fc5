"""``dlf.gpt.numpy_train`` trains the NumPy GPT step for step as ``dlf.gpt.train.train`` trains
its PyTorch twin: in float64, the same losses, evaluations and final weights to round-off."""

import warnings

import numpy as np
import pytest
import torch

from dlf.gpt.numpy_train import train_numpy, windows
from dlf.gpt.numpy_twin import numpy_step_fn, torch_twin
from dlf.gpt.train import NonFiniteLossError, TrainConfig, train
from dlf.scratch.gpt import GPT
from dlf.scratch.gradcheck import relative_error

PARITY = 1e-8  # float64 round-off is ~1e-15; a different batch or step moves losses by ~1e-2


def test_windows_are_the_token_datasets():
    np.testing.assert_array_equal(windows(np.array([5, 6, 7, 8]), 2), [[5, 6, 7], [6, 7, 8]])


def test_the_numpy_loop_is_the_torch_loop_in_float64():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 11, 600)
    model = GPT(11, 8, 2, 2, 16, dtype=np.float64, rng=np.random.default_rng(1))
    twin = torch_twin(model)
    assert next(twin.parameters()).dtype == torch.float64
    settings = TrainConfig(max_steps=12, batch_size=4, warmup_steps=3, learning_rate=1e-2,
                           min_lr=1e-3, grad_clip=0.5, eval_interval=5, eval_batches=2,
                           log_interval=1, device="cpu", precision="fp32")  # fmt: skip
    ours = train_numpy(model, tokens[:500], tokens[500:], settings)
    theirs = train(twin, tokens[:500], tokens[500:], settings)
    assert [s for s, _ in ours.losses] == [s for s, _ in theirs.losses] == list(range(1, 13))
    for (_, a), (_, b) in zip(ours.losses, theirs.losses, strict=True):
        assert a == pytest.approx(b, rel=PARITY)
    assert [e["step"] for e in ours.evals] == [e["step"] for e in theirs.evals] == [0, 5, 10, 12]
    for a, b in zip(ours.evals, theirs.evals, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=PARITY)
    state = model.state_dict()
    for k, v in twin.state_dict().items():
        assert relative_error(state[k], v.numpy()) <= PARITY, k


def test_the_numpy_step_fn_gives_the_last_positions_logits():
    model = GPT(11, 8, 1, 2, 16, rng=np.random.default_rng(2))
    ids = torch.randint(0, 11, (2, 12), generator=torch.Generator().manual_seed(0))
    logits, cache = numpy_step_fn(model)(ids, None)
    assert cache is None and logits.shape == (2, 11) and logits.dtype == torch.float32
    expected = model.forward(ids[:, -8:].numpy())[:, -1]  # cropped to block_size
    np.testing.assert_array_equal(logits.numpy(), expected)


def test_a_step_that_breaks_the_weights_is_undone_and_reported_once():
    tokens = np.random.default_rng(0).integers(0, 11, 600)
    model = GPT(11, 8, 1, 2, 16, rng=np.random.default_rng(1))
    before = model.state_dict()
    settings = TrainConfig(max_steps=5, batch_size=4, warmup_steps=0, learning_rate=3e38,
                           min_lr=0.0, eval_interval=100, eval_batches=1, device="cpu",
                           precision="fp32")  # fmt: skip
    kept = []

    def keep(model):
        kept.append(model.state_dict())
        return "here"

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no NumPy overflow warnings printed
        with pytest.raises(NonFiniteLossError) as caught:
            train_numpy(model, tokens[:500], tokens[500:], settings, keep=keep)
    message = str(caught.value)
    # the loss of step 1 was finite: the AdamW step of 3e38 made the weights inf
    assert message.startswith("a weight became non-finite at step 1 (loss ")
    assert "; the weights of step 0 (here) are kept; run again with a lower" in message
    (saved,) = kept
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # back to the weights before the step
        np.testing.assert_array_equal(saved[k], before[k])
