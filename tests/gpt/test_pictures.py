"""The GPT's pictures: attention maps of every head (fused or not) and the report pieces."""

from __future__ import annotations

import pytest
import torch

from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.pictures import attention_figure, attention_maps, gpt_diagram


def small_gpt(attention: str) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(block_size=16, vocab_size=13, n_layer=2, n_head=3, n_embd=12,
                       attention=attention)  # fmt: skip
    return GPT(config)


@pytest.mark.parametrize("attention", ["ours", "fused"])
def test_every_head_s_weights_are_causal_rows_that_sum_to_one(attention):
    model = small_gpt(attention)
    idx = torch.randint(0, 13, (2, 7), generator=torch.Generator().manual_seed(1))
    maps = attention_maps(model, idx)
    assert list(maps) == ["transformer.h.0.attn", "transformer.h.1.attn"]
    for weights in maps.values():
        assert weights.shape == (2, 3, 7, 7)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 7))
        assert (weights.triu(diagonal=1) == 0).all()  # no looking ahead
    assert all(m.attention == attention for m in model.modules() if hasattr(m, "c_attn"))
    assert model.training  # the mode is restored


def test_fused_and_ours_give_the_same_weights():
    idx = torch.randint(0, 13, (1, 9), generator=torch.Generator().manual_seed(2))
    ours, fused = (attention_maps(small_gpt(a), idx) for a in ("ours", "fused"))
    for name in ours:
        torch.testing.assert_close(ours[name], fused[name])


def test_the_figure_has_every_head_of_the_last_block_and_one_colour_bar():
    model = small_gpt("fused")
    maps = attention_maps(model, torch.arange(5)[None])
    fig = attention_figure(maps, ["a", "b", " c", "d", "\n"])
    heads, bar = fig.axes[:3], fig.axes[-1]
    assert len(fig.axes) == 3 + 1  # 3 heads in one row, and the bar
    assert [ax.get_title() for ax in heads] == [f"h.1.attn head {h}" for h in range(3)]
    assert [t.get_text() for t in heads[0].get_xticklabels()] == ["a", "b", "␣c", "d", "↵"]
    assert bar.get_ylabel() == "attention weight"


def test_the_diagram_is_drawn_from_a_meta_twin():
    model = small_gpt("ours")
    arch = gpt_diagram(model)
    assert arch.parameters == sum(p.numel() for p in model.parameters())
    assert next(arch.model.parameters()).device.type == "meta"
    assert "2 × Block" in arch.text()
