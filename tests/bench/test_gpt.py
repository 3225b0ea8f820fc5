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
    report = bench_gpt(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=2,
                       vocab_size=11, train_steps=2, new_tokens=12, repeats=1)  # fmt: skip
    values = {what: value for what, value, _ in report.rows}
    assert len(values) == 6 and all(v > 0 for v in values.values())
    fp32, bf16, step_speedup, cached, recomputed, speedup = values.values()
    assert step_speedup == pytest.approx(fp32 / bf16)
    assert speedup == pytest.approx(cached / recomputed)
    assert report.ratio == pytest.approx(1 / speedup)
    assert "identical tokens" in report.format()
