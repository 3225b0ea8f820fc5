"""``dlf bench gpt`` at tiny sizes: its rows, and identical tokens with and without the cache."""

import pytest
import torch

from dlf.bench.gpt import bench_gpt, generate_tokens
from dlf.gpt.model import GPT, GPTConfig


@pytest.mark.parametrize("attention", ["ours", "fused"])
def test_cached_and_uncached_generation_agree(attention):
    torch.manual_seed(0)
    config = GPTConfig(block_size=41, vocab_size=17, n_layer=2, n_head=2, n_embd=16,
                       attention=attention)  # fmt: skip
    model = GPT(config)
    cached = generate_tokens(model, 40, use_cache=True, prompt=3)
    uncached = generate_tokens(model, 40, use_cache=False, prompt=3)
    assert len(cached) == 40 and cached == uncached


def test_bench_report():
    report = bench_gpt(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=0,
                       vocab_size=11, train_steps=2, new_tokens=12, repeats=1)  # fmt: skip
    values = {what: value for what, value, _ in report.rows}
    assert all(v > 0 for v in values.values())
    plain = {int(w.rsplit(" ", 1)[1]): v for w, v in values.items() if "plain PyTorch GPT" in w}
    assert set(plain) == {12, 24}  # the default's batch and the fast setting's
    ours = {w: v for w, v in values.items() if w.startswith("training, dlf ")}
    assert [w.split(" (")[0] for w in ours] == ["training, dlf default", "training, dlf fast"]
    assert "(fp32, batch 12)" in list(ours)[0]
    default_ms = ours[next(iter(ours))]
    assert values["  default / plain at batch 12"] == pytest.approx(default_ms / plain[12])
    assert report.ratio == pytest.approx(default_ms / plain[12])
    fast_ms = ours[list(ours)[1]]
    assert values["  fast / plain at batch 24"] == pytest.approx(fast_ms / plain[24])
    speedup = values["speed-up of the KV cache"]
    cached = values["generation 12 tokens, KV cache"]
    assert speedup == pytest.approx(cached / values["generation 12 tokens, recomputed"])
    assert "identical tokens" in report.format()


def test_unknown_settings_are_refused_before_any_work():
    from dlf.recipes.config import ConfigError

    with pytest.raises(ConfigError, match="settings must name some of: default, fast"):
        bench_gpt(settings="default,turbo")
    with pytest.raises(ConfigError, match="batch_size must be >= 0, got -1"):
        bench_gpt(batch_size=-1)
    with pytest.raises(ConfigError, match="train_steps must be >= 1, got 0"):
        bench_gpt(train_steps=0)


def test_the_plain_peer_learns_and_has_the_same_shape():
    from dlf.bench.plain_gpt import PlainGPT, plain_step

    torch.manual_seed(0)
    config = GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=16, dropout=0.0)
    plain = PlainGPT(11, 8, 2, 2, 16)
    ours = sum(p.numel() for p in GPT(config).parameters())
    theirs = sum(p.numel() for p in plain.parameters())
    assert abs(ours - theirs) <= 11 * 16 + 11  # an untied head is the only difference allowed
    x = torch.randint(0, 11, (4, 8))
    optimizer = torch.optim.AdamW(plain.parameters(), lr=1e-2)
    losses = [plain_step(plain, optimizer, x, torch.roll(x, -1, 1)) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
