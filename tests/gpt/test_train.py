"""The training loop: schedule, accumulation, evaluation, exact resume, NaN stop, bf16."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from dlf.gpt.data import TokenDataset, split_tokens
from dlf.gpt.distributed import World
from dlf.gpt.snapshot import load_gpt, read_manifest
from dlf.gpt.train import (
    NonFiniteLossError,
    TrainConfig,
    accumulate_gradients,
    evaluate,
    lr_schedule,
    train,
)

from .helpers import tiny_gpt, token_stream

TINY = TrainConfig(
    max_steps=8,
    batch_size=4,
    warmup_steps=2,
    lr_decay_steps=8,
    learning_rate=3e-3,
    eval_interval=4,
    eval_batches=2,
    log_interval=1,
    device="cpu",
)


def nanogpt_lr(it: int, lr: float, min_lr: float, warmup: int, decay: int) -> float:
    """nanoGPT's get_lr, written out independently as the reference."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    ratio = (it - warmup) / (decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


@pytest.mark.parametrize("warmup, decay", [(0, 20), (5, 20), (10, 11), (3, 30)])
def test_lr_schedule_is_warmup_then_cosine(warmup, decay):
    config = TrainConfig(learning_rate=6e-4, min_lr=6e-5, warmup_steps=warmup, max_steps=decay)
    schedule = lr_schedule(config)
    for t in range(decay + 10):
        assert schedule(t) == pytest.approx(nanogpt_lr(t, 6e-4, 6e-5, warmup, decay), abs=1e-15)


@pytest.mark.parametrize("k", [2, 4])
def test_accumulating_k_micro_batches_equals_one_batch_k_times_larger(k):
    """In float64: k micro-batches of B give the gradient of one batch of k B (to rounding)."""
    data = TokenDataset(token_stream(500), block_size=12)
    x, y = data.batch(torch.arange(0, 8 * k * 3, 3))  # k * 8 windows
    model = tiny_gpt(seed=5)
    whole_loss = accumulate_gradients(model, [(x, y)])
    whole = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    parts = list(zip(x.chunk(k), y.chunk(k), strict=True))
    parts_loss = accumulate_gradients(model, parts)
    torch.testing.assert_close(parts_loss, whole_loss, rtol=1e-13, atol=0)
    for p, g in zip(model.parameters(), whole, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-15)


def test_evaluation_is_the_mean_loss_and_perplexity_its_exp(tmp_path):
    data = TokenDataset(token_stream(300), block_size=12)
    model = tiny_gpt(seed=6)
    indices = torch.arange(0, 70, 3).numpy()  # 24 windows, batches of 5 (the last one of 4)
    got = evaluate(model, data, indices, 5, torch.device("cpu"), World())
    x, y = data.batch(indices)
    logits, _ = model(x)
    want = F.cross_entropy(logits.reshape(-1, 13), y.reshape(-1)).item()
    assert got == pytest.approx(want, rel=1e-12)

    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    result = train(model, train_tokens, val_tokens, dataclasses.replace(TINY, max_steps=4))
    assert [e["step"] for e in result.evals] == [0, 4]
    for e in result.evals:
        assert e["val_perplexity"] == pytest.approx(math.exp(e["val_loss"]), rel=1e-12)
    assert result.evals[-1]["val_loss"] < result.evals[0]["val_loss"]


def test_resume_continues_exactly(tmp_path):
    """N steps in one go == N/2 steps, a new process-like start from the checkpoint, N/2 more:
    the same losses and the same final weights, bit for bit (dropout on: RNG states restored)."""
    train_tokens, val_tokens = split_tokens(token_stream(3000), 0.1)
    config = TINY
    whole_model = tiny_gpt(seed=7, dtype=torch.float32, dropout=0.1)
    whole = train(whole_model, train_tokens, val_tokens, config, tmp_path / "whole")

    first = train(
        tiny_gpt(seed=7, dtype=torch.float32, dropout=0.1),
        train_tokens,
        val_tokens,
        dataclasses.replace(config, max_steps=4),
        tmp_path / "split",
    )
    assert read_manifest(tmp_path / "split")["step"] == 4
    torch.manual_seed(12345)  # the resumed run must not depend on the RNG it finds
    resumed_model = tiny_gpt(seed=99, dtype=torch.float32, dropout=0.1)  # other initial weights
    second = train(resumed_model, train_tokens, val_tokens, config, tmp_path / "split")
    assert second.start_step == 4
    assert first.losses + second.losses == whole.losses
    assert len(whole.losses) == 8
    for p, q in zip(whole_model.parameters(), resumed_model.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("checkpoint_interval, message", [(2, "step 4"), (1, "not saving")])
def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(
    tmp_path, checkpoint_interval, message
):
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    model = tiny_gpt(seed=8, dtype=torch.float32)

    def log(step, **metrics):
        if step == 3 and "loss" in metrics:  # weights blow up after step 3
            with torch.no_grad():
                model.transformer.ln_f.weight.fill_(math.nan)

    config = dataclasses.replace(TINY, checkpoint_interval=checkpoint_interval, eval_interval=100)
    with pytest.raises(NonFiniteLossError, match=message):
        train(model, train_tokens, val_tokens, config, tmp_path, log=log)
    assert read_manifest(tmp_path)["step"] == 2
    kept = load_gpt(tmp_path)
    assert all(torch.isfinite(p).all() for p in kept.parameters())


def test_rank_zero_logs_train_and_eval_metrics():
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    lines = []
    config = dataclasses.replace(TINY, max_steps=4, log_interval=2)
    train(tiny_gpt(), train_tokens, val_tokens, config, log=lambda s, **m: lines.append((s, m)))
    assert [s for s, m in lines if "loss" in m] == [2, 4]
    assert {"loss", "lr", "grad_norm"} <= set(lines[1][1])
    assert [s for s, m in lines if "val_loss" in m] == [0, 4]


def test_bf16_autocast_option_trains():
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    model = tiny_gpt(dtype=torch.float32)
    config = dataclasses.replace(TINY, max_steps=3, precision="bf16", eval_interval=3)
    result = train(model, train_tokens, val_tokens, config)
    assert all(math.isfinite(loss) for _, loss in result.losses)
    assert model.transformer.wte.weight.dtype == torch.float32  # autocast, not a bf16 model


def test_until_stops_at_the_first_evaluation_that_meets_it():
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    config = dataclasses.replace(TINY, max_steps=40, eval_interval=4)
    asked = []

    def until(result):
        asked.append((result.evals[-1]["step"], result.train_seconds))
        return result.evals[-1]["step"] >= 8

    result = train(tiny_gpt(), train_tokens, val_tokens, config, until=until)
    assert result.step == 8 and [e["step"] for e in result.evals] == [0, 4, 8]
    assert [step for step, _ in asked] == [0, 4, 8]  # once per evaluation
    assert asked[0][1] == 0.0 and asked[-1][1] == result.train_seconds > 0


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch, native):
    from dlf.gpt import train as train_module

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert train_module.native_bf16(torch.device("cpu")) is native
    assert train_module.use_bf16("auto", torch.device("cpu")) is native
    assert train_module.use_bf16("fp32", torch.device("cpu")) is False
    assert train_module.use_bf16("bf16", torch.device("cpu")) is True
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    config = dataclasses.replace(TINY, max_steps=1, precision="auto")
    result = train(tiny_gpt(dtype=torch.float32), train_tokens, val_tokens, config)
    assert result.precision == ("bf16" if native else "fp32")
    assert TrainConfig().precision == "fp32"  # the default never depends on the machine


def test_a_run_stopped_by_until_saves_its_last_step(tmp_path):
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    config = dataclasses.replace(TINY, max_steps=40, eval_interval=4, checkpoint_interval=100)
    until = lambda result: result.evals[-1]["step"] >= 8  # noqa: E731
    result = train(tiny_gpt(), train_tokens, val_tokens, config, tmp_path, until=until)
    assert result.step == 8 and read_manifest(tmp_path)["step"] == 8
