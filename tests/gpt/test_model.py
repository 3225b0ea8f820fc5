"""The GPT: GPT-2's parameter count, causality, the KV cache, fused == ours, init, optimizer."""

from __future__ import annotations

import math

import pytest
import torch

from dlf.gpt import GPT, GPTConfig
from dlf.sampling import beam_search, generate

from .helpers import tiny_gpt


def test_gpt2_small_has_gpt2_parameter_count():
    config = GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=1024, vocab_size=50257)
    with torch.device("meta"):
        model = GPT(config)
    assert model.num_params(non_embedding=False) == 124_439_808
    assert model.num_params(non_embedding=True) == 124_439_808 - 1024 * 768


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count_formula(bias):
    """12 L C^2 (+ 13 L C + 2 C biases and LayerNorm shifts) + V C + T C + LN gains."""
    model = tiny_gpt(bias=bias)
    c = model.config
    L, C, V, T = c.n_layer, c.n_embd, c.vocab_size, c.block_size
    expected = 12 * L * C * C + V * C + T * C + (2 * L + 1) * C
    if bias:
        expected += L * (3 * C + C + 4 * C + C) + (2 * L + 1) * C
    assert model.num_params(non_embedding=False) == expected


def test_lm_head_is_tied_to_token_embedding():
    model = tiny_gpt()
    wte = model.transformer.wte
    assert model.lm_head.weight is wte.weight
    assert model.lm_head.weight.data_ptr() == wte.weight.data_ptr()


def test_gpt2_initialisation():
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=64, vocab_size=512, n_layer=4, n_head=4, n_embd=256))
    residual_std = 0.02 / math.sqrt(2 * 4)
    for block in model.transformer.h:
        for w in (block.attn.c_proj.weight, block.mlp.c_proj.weight):
            assert w.std().item() == pytest.approx(residual_std, rel=0.05)
        assert block.attn.c_attn.weight.std().item() == pytest.approx(0.02, rel=0.05)
        assert block.mlp.c_fc.bias.abs().max().item() == 0.0
        assert torch.equal(block.ln_1.weight, torch.ones(256))
    assert model.transformer.wte.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert model.transformer.wpe.weight.std().item() == pytest.approx(0.02, rel=0.05)


def embedding_gradient(model: GPT, idx: torch.Tensor, t: int) -> torch.Tensor:
    """d(sum of logits at position t) / d(input embeddings), shape (B, T, C)."""
    captured = []
    wte = model.transformer.wte
    handle = wte.register_forward_hook(lambda module, inputs, output: captured.append(output))
    logits, _ = model(idx)
    handle.remove()
    (grad,) = torch.autograd.grad(logits[:, t].sum(), captured[0])
    return grad


@pytest.mark.parametrize("attention", ["ours", "fused"])
@pytest.mark.parametrize("t", [0, 4, 10])
def test_causal_output_t_ignores_later_inputs(attention, t):
    model = tiny_gpt(attention=attention)
    idx = torch.randint(0, 13, (2, 12), generator=torch.Generator().manual_seed(t))
    grad = embedding_gradient(model, idx, t)
    assert torch.count_nonzero(grad[:, t + 1 :]) == 0  # exactly zero, not merely small
    assert (grad[:, : t + 1].abs().sum(-1) > 0).all()


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 1), (3, 12), (2, 7)])
def test_fused_attention_equals_ours(bias, shape):
    ours = tiny_gpt(seed=1, bias=bias)
    fused = tiny_gpt(seed=1, bias=bias, attention="fused")
    idx = torch.randint(0, 13, shape, generator=torch.Generator().manual_seed(0))
    logits_ours, loss_ours = ours(idx, idx)
    logits_fused, loss_fused = fused(idx, idx)
    torch.testing.assert_close(logits_fused, logits_ours, rtol=0, atol=1e-12)
    loss_ours.backward()
    loss_fused.backward()
    for (name, p), q in zip(ours.named_parameters(), fused.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=1e-12, msg=name)


@pytest.mark.parametrize("attention", ["ours", "fused"])
@pytest.mark.parametrize("prompt, chunk", [(1, 1), (5, 1), (4, 3)])
def test_kv_cache_equals_full_recomputation(attention, prompt, chunk):
    model = tiny_gpt(seed=2, attention=attention).eval()
    idx = torch.randint(0, 13, (3, 12), generator=torch.Generator().manual_seed(prompt))
    full, _ = model(idx)
    logits, cache = model.step(idx[:, :prompt])
    pieces = [logits]
    for start in range(prompt, 12, chunk):
        logits, cache = model.step(idx[:, start : start + chunk], cache)
        pieces.append(logits)
    assert cache[0][0].shape == (3, 4, 12, 8)
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=0, atol=1e-12)


def test_step_beyond_block_size_is_a_clear_error():
    model = tiny_gpt()
    _, cache = model.step(torch.zeros(1, 10, dtype=torch.long))
    with pytest.raises(ValueError, match="block_size=12"):
        model.step(torch.zeros(1, 3, dtype=torch.long), cache)


@pytest.mark.parametrize("new_tokens", [5, 20])  # 20: past block_size, the crop fallback
def test_generation_with_cache_equals_without(new_tokens):
    model = tiny_gpt(seed=3).eval()
    prompt = [1, 2, 3]
    with_cache = list(generate(model.step_fn(use_cache=True), prompt, new_tokens))
    without = list(generate(model.step_fn(use_cache=False), prompt, new_tokens))
    assert with_cache == without and len(with_cache) == new_tokens


def test_beam_search_with_cache_equals_without():
    model = tiny_gpt(seed=4).eval()
    a = beam_search(model.step_fn(True), [5, 6], beam_width=3, max_new_tokens=6, eos_id=0)
    b = beam_search(model.step_fn(False), [5, 6], beam_width=3, max_new_tokens=6, eos_id=0)
    assert a.ids == b.ids
    assert a.log_prob == pytest.approx(b.log_prob, abs=1e-12)


def test_optimizer_decays_matrices_only():
    model = tiny_gpt()
    optimizer = model.configure_optimizer(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.95))
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"])
    assert all(p.dim() == 1 for p in no_decay["params"])
    decayed = {id(p) for p in decay["params"]}
    assert id(model.transformer.wte.weight) in decayed
    assert id(model.transformer.wpe.weight) in decayed
    n = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    assert n == model.num_params(non_embedding=False)  # the tied matrix once
    assert optimizer.defaults["betas"] == (0.9, 0.95)


def test_optimizer_is_fused_on_cpu_and_steps_as_the_plain_adamw():
    model, plain_model = tiny_gpt(seed=5), tiny_gpt(seed=5)
    optimizer = model.configure_optimizer(0.1, 1e-2, (0.9, 0.95))
    assert optimizer.defaults["fused"] is True
    groups = [
        {"params": [p for p in plain_model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
        {"params": [p for p in plain_model.parameters() if p.dim() < 2], "weight_decay": 0.0},
    ]
    plain = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.95), foreach=False)
    idx = torch.randint(
        0, model.config.vocab_size, (2, 8), generator=torch.Generator().manual_seed(0)
    )
    for m, opt in ((model, optimizer), (plain_model, plain)):
        for _ in range(3):
            opt.zero_grad()
            m(idx, idx)[1].backward()
            opt.step()
    for p, q in zip(model.parameters(), plain_model.parameters(), strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("kwargs", [{"n_embd": 30, "n_head": 4}, {"attention": "flash"}])
def test_bad_config_is_a_clear_error(kwargs):
    with pytest.raises(ValueError):
        GPTConfig(**kwargs)


def test_auto_attention_is_fused_except_under_cpu_autocast(monkeypatch):
    from dlf.gpt import model as model_module

    model = tiny_gpt(seed=1, attention="auto", dtype=torch.float32)
    taken = []
    real = model_module.scaled_dot_product_attention
    monkeypatch.setattr(
        model_module, "scaled_dot_product_attention", lambda *a: taken.append(1) or real(*a)
    )
    idx = torch.randint(0, 13, (2, 7), generator=torch.Generator().manual_seed(0))
    fused_logits, _ = model(idx)
    assert not taken  # float32: PyTorch's fused kernel
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(idx)
    assert len(taken) == model.config.n_layer  # bf16 autocast on the CPU: ours
    ours = tiny_gpt(seed=1, attention="ours", dtype=torch.float32)
    # float32 rounding of two kernels summing in different orders, through 2 layers
    torch.testing.assert_close(fused_logits, ours(idx)[0], rtol=1e-5, atol=1e-5)
