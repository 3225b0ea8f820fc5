"""The masked LM: BERT's 80/10/10 corruption, bidirectional attention, a loss that falls."""

import numpy as np
import pytest
import torch

from dlf.gpt.masked_lm import IGNORE, MaskedLM, MaskedLMConfig, mask_tokens, train_masked_lm
from dlf.gpt.train import TrainConfig


def test_mask_tokens_rates():
    V, mask_id = 20, 20
    ids = torch.randint(0, V, (400, 250), generator=torch.Generator().manual_seed(0))
    inputs, labels = mask_tokens(ids, mask_id, V, 0.15, torch.Generator().manual_seed(1))
    chosen = labels != IGNORE
    n = int(chosen.sum())
    assert n / ids.numel() == pytest.approx(0.15, abs=0.005)
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])  # only chosen positions change
    masked = int((inputs[chosen] == mask_id).sum()) / n
    kept = int((inputs[chosen] == ids[chosen]).sum()) / n  # includes random draws of the same id
    assert masked == pytest.approx(0.8, abs=0.01)
    assert kept == pytest.approx(0.1 + 0.1 / V, abs=0.01)
    assert not bool((inputs[~chosen] == mask_id).any())


@pytest.mark.parametrize("positional", ["rope", "learned"])
@pytest.mark.parametrize("position", [0, 3, 7])
def test_every_output_sees_every_input(position, positional):
    torch.manual_seed(0)
    config = MaskedLMConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16,
                            positional=positional)  # fmt: skip
    model = MaskedLM(config)
    model = model.double().eval()
    captured = []
    model.wte.register_forward_hook(lambda m, i, out: captured.append(out))
    logits, _ = model(torch.randint(0, 12, (1, 8)))
    (grad,) = torch.autograd.grad(logits[0, position].sum(), captured[0])
    assert bool((grad[0].norm(dim=-1) > 0).all())  # bidirectional: no position is cut off
    assert logits.shape == (1, 8, 11)  # never predicts [MASK]


def test_training_lowers_the_masked_loss():
    tokens = (np.arange(3000) % 9).astype(np.int64)  # 0 1 2 ... 8 0 1 ...: neighbours tell
    torch.manual_seed(0)
    model = MaskedLM(MaskedLMConfig(vocab_size=9, block_size=16, n_layer=1, n_head=2, n_embd=32))
    config = TrainConfig(max_steps=60, batch_size=16, learning_rate=3e-3, warmup_steps=5,
                         eval_interval=30, eval_batches=4, log_interval=10)  # fmt: skip
    result = train_masked_lm(model, tokens[:2500], tokens[2500:], config)
    assert [e["step"] for e in result.evals] == [0, 30, 60]
    first, last = result.evals[0], result.evals[-1]
    assert first["val_loss"] == pytest.approx(np.log(9), abs=0.1)  # uniform at the start
    assert last["val_loss"] < first["val_loss"] - 0.2
    assert last["val_accuracy"] > 2 * first["val_accuracy"]
    assert len(result.losses) == 60 and result.train_seconds > 0


def test_too_long_input_is_refused():
    model = MaskedLM(MaskedLMConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 5, dtype=torch.long))
