"""The data-flow diagram and the layer table are drawn from the model's own forward pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlf.cnn import resnet18
from dlf.gpt.configs import GPT2_PARAMETERS, gpt2_parameters, gpt_architecture, gpt_config
from dlf.gpt.model import GPT, GPTConfig
from dlf.runs.architecture import architecture
from dlf.runs.diagram import diagram, residuals
from dlf.runs.trace import trace
from dlf.transformer.attention import padding_mask
from dlf.transformer.configs import TRANSFORMER_CONFIGS, transformer_architecture
from dlf.transformer.model import Transformer, TransformerConfig


def tiny_gpt(**shape) -> GPT:
    shape = {"n_layer": 2, **shape}
    with torch.device("meta"):
        return GPT(GPTConfig(block_size=16, vocab_size=11, n_head=2, n_embd=8, **shape))


def gpt_text(model: GPT, T: int = 5) -> str:
    return architecture(model, torch.zeros(1, T, dtype=torch.long, device="meta")).text()


@pytest.mark.parametrize("n_layer", [1, 3, 7])
def test_the_diagram_shows_the_model_s_own_blocks(n_layer):
    text = gpt_text(tiny_gpt(n_layer=n_layer))
    if n_layer == 1:  # one block: opened on its own, no group
        assert "┌ transformer.h.0 (Block)" in text and "× Block" not in text
    else:
        assert f"{n_layer} × Block  (transformer.h.0 … transformer.h.{n_layer - 1})" in text
    assert text.count("x + branch(x)") == 2  # attention and MLP, each a residual branch
    assert "attn          CausalSelfAttention" in text and "[causal mask]" in text
    assert "[weight tied to transformer.wte]" in text


def test_fused_attention_is_causal_too():
    assert "[causal mask]" in gpt_text(tiny_gpt(attention="fused"))


def test_pre_norm_branch_holds_the_norm_and_post_norm_puts_it_after_the_join():
    rows = {}
    for norm_first in (True, False):
        with torch.device("meta"):
            model = Transformer(TransformerConfig(vocab_size=7, d_model=8, n_heads=2,
                                                  n_encoder_layers=2, n_decoder_layers=1,
                                                  d_ff=16, norm_first=norm_first))  # fmt: skip
            src, tgt = torch.zeros(2, 1, 5, dtype=torch.long)
        arch = architecture(model, src, tgt, padding_mask(src, 0))
        rows[norm_first] = arch.text()
        assert [r.name for r in arch.diagram if r.source == "encoder"] == ["cross_attn"]
        drawn = [t.get_text() for t in arch.figure().axes[0].texts]
        assert "encoder output" in drawn  # the arrow from the encoder into the cross-attention
    pre, post = rows[True], rows[False]
    assert "│ │ │ norm_1        LayerNorm" in pre  # inside the branch
    assert "│ │ norm_1          LayerNorm" in post  # on the stream, after the join
    for text in (pre, post):
        assert "2 × EncoderLayer" in text and "1 × DecoderLayer" not in text
        assert "self_attn     MultiHeadAttention" in text
        assert "[causal mask]" in text  # the decoder's self-attention
        assert "[padding mask; keys, values from encoder]" in text  # its cross-attention
        assert "▶ input src_mask  1×1×1×5 (bool)" in text
        assert text.index("input src ") < text.index("encoder") < text.index("input tgt")


class Sums(nn.Module):
    """``x + f(x)`` (residual), ``f(x) + g(y)`` (not: no common ancestor)."""

    def __init__(self):
        super().__init__()
        self.f, self.g = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x, y):
        return (x + self.f(x)) + self.g(y)


def test_a_residual_is_a_sum_with_its_own_input_and_other_sums_are_not():
    root = trace(Sums(), torch.zeros(2, 3), torch.zeros(2, 3))
    found = residuals(root)
    assert [[c.name for c in r.branch] for r in found] == [["f"]]
    kinds = [r.kind for r in diagram(root)]
    assert kinds == ["input", "branch", "layer", "join", "input", "layer", "add", "output"]


def test_projection_shortcut_is_the_shorter_branch():
    with torch.device("meta"):
        model = resnet18()
    root = trace(model, torch.zeros(1, 3, 64, 64, device="meta"))
    block = next(c for c in root.walk() if getattr(c, "name", "") == "layer2.0")
    (found,) = residuals(block)
    assert [c.name for c in found.shortcut] == ["layer2.0.downsample"]
    assert [c.name for c in found.branch][0] == "layer2.0.conv1"
    text = architecture(model, torch.zeros(1, 3, 64, 64, device="meta")).text()
    assert "⊕─┘ + downsample" in text and "2 × BasicBlock  (0 … 1)" in text


@pytest.mark.parametrize("name", list(GPT2_PARAMETERS))
def test_gpt2_sizes_equal_the_released_counts(name):
    arch, line = gpt_architecture(name, tokens=4)
    c = gpt_config(name)
    assert arch.parameters == GPT2_PARAMETERS[name] == gpt2_parameters(c.n_layer, c.n_embd)
    assert sum(r.params for r in arch.rows) == arch.parameters  # a tied weight counted once
    assert f"Total params: {GPT2_PARAMETERS[name]:,}" in arch.table()
    assert "(the same)" in line
    assert next(iter(arch.model.parameters())).device.type == "meta"


def test_gpt_multiply_adds_per_token_by_hand():
    arch, _ = gpt_architecture("gpt2", tokens=32)
    L, C, V, T = 12, 768, 50257, 32
    # per layer: c_attn 3 C^2, c_proj C^2, MLP 8 C^2, q k^T and a v T C each; lm_head V C
    per_token = L * (12 * C * C + 2 * T * C) + V * C
    assert sum(r.macs for r in arch.rows) == per_token * T
    assert f"Total mult-adds per token: {per_token:,}" in arch.table()


@pytest.mark.parametrize("name", list(TRANSFORMER_CONFIGS))
def test_transformer_totals_equal_the_model_s_parameters(name):
    arch, line = transformer_architecture(name, tokens=6)
    model = arch.model
    assert sum(r.params for r in arch.rows) == sum(p.numel() for p in model.parameters())
    assert f"{arch.parameters:,} parameters with one vocabulary of " in line


def test_figure_draws_every_layer_box():
    arch = architecture(tiny_gpt(), torch.zeros(1, 5, dtype=torch.long, device="meta"))
    fig = arch.figure()
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "2 × Block   (transformer.h.0 … transformer.h.1)" in labels
    assert sum("CausalSelfAttention" in t for t in labels) == 1
    assert sum(t == "⊕" for t in labels) == 2  # two residual joins (wpe adds its positions)
    assert any("LearnedPositionalEmbedding" in t for t in labels)


class InPlace(nn.Module):
    """torchvision's way: ``out = f(x); out += x``."""

    def __init__(self):
        super().__init__()
        self.f = nn.Linear(3, 3)

    def forward(self, x):
        out = self.f(x)
        out += x
        return out


def test_an_in_place_sum_is_a_residual_too():
    (found,) = residuals(trace(InPlace(), torch.zeros(2, 3)))
    assert [c.name for c in found.branch] == ["f"]
