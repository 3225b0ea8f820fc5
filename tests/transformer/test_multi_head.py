import pytest
import torch
from torch import nn

from dlf.transformer import MultiHeadAttention, causal_mask, length_mask

from .torch_reference import copy_attention, randomize_

# (B, L, S, d_model, n_heads)
SHAPES = [(1, 1, 1, 4, 1), (2, 5, 5, 8, 2), (3, 4, 7, 12, 3), (2, 6, 3, 16, 8)]


def _pair(d_model, n_heads, bias, seed=0):
    torch.manual_seed(seed)
    ours = randomize_(MultiHeadAttention(d_model, n_heads, bias=bias).double(), seed)
    ref = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True)
    ref = ref.double()
    copy_attention(ours, ref)
    return ours.eval(), ref.eval()


def _inputs(B, L, S, d_model, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, L, d_model, generator=g, dtype=torch.float64)
    memory = torch.randn(B, S, d_model, generator=g, dtype=torch.float64)
    return x, memory


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masks", ["none", "causal", "padding", "both"])
def test_matches_nn_multihead_attention(shape, bias, masks):
    B, L, S, d_model, n_heads = shape
    ours, ref = _pair(d_model, n_heads, bias)
    x, memory = _inputs(B, L, S, d_model)
    lengths = torch.randint(1, S + 1, (B,), generator=torch.Generator().manual_seed(1))
    ours_mask, attn_mask, key_padding_mask = None, None, None
    if masks in ("causal", "both"):
        ours_mask = causal_mask(L, S)
        attn_mask = ~ours_mask  # PyTorch's nn.MultiheadAttention: True = may NOT attend
    if masks in ("padding", "both"):
        pad = length_mask(lengths, S)
        ours_mask = pad if ours_mask is None else ours_mask & pad
        key_padding_mask = ~pad[:, 0, 0]
    out, weights = ours(x, memory, memory, ours_mask, need_weights=True)
    ref_out, ref_weights = ref(
        x,
        memory,
        memory,
        key_padding_mask=key_padding_mask,
        attn_mask=attn_mask,
        need_weights=True,
        average_attn_weights=False,
    )
    # A query that sees no key: the reference gives NaN, ours attends to nothing.
    sees = torch.ones(B, L, dtype=torch.bool)
    if ours_mask is not None:
        sees = ours_mask.expand(B, 1, L, S).any(-1)[:, 0]
    weights, ref_weights = weights.transpose(1, 2), ref_weights.transpose(1, 2)  # (B, L, h, S)
    assert torch.isfinite(out).all() and (weights[~sees] == 0).all()
    torch.testing.assert_close(out[sees], ref_out[sees], rtol=0, atol=1e-10)
    torch.testing.assert_close(weights[sees], ref_weights[sees], rtol=0, atol=1e-10)


def test_self_attention_matches_and_gradients_match():
    ours, ref = _pair(8, 4, bias=True, seed=3)
    x, _ = _inputs(2, 5, 5, 8, seed=3)
    mask = causal_mask(5)
    ours(x, x, x, mask).square().sum().backward()
    ref(x, x, x, attn_mask=~mask, need_weights=False)[0].square().sum().backward()
    ref_grad_q = ref.in_proj_weight.grad[:8]
    torch.testing.assert_close(ours.W_q.weight.grad, ref_grad_q, rtol=0, atol=1e-10)
    torch.testing.assert_close(ours.W_o.weight.grad, ref.out_proj.weight.grad, rtol=0, atol=1e-10)


def test_record_weights_keeps_detached_per_head_weights():
    ours, _ = _pair(8, 2, bias=True)
    x, memory = _inputs(3, 4, 6, 8)
    ours(x, memory, memory)
    assert ours.last_weights is None
    ours.record_weights = True
    _, weights = ours(x, memory, memory, need_weights=True)
    assert ours.last_weights.shape == (3, 2, 4, 6)
    assert not ours.last_weights.requires_grad
    torch.testing.assert_close(ours.last_weights, weights.detach())


def test_heads_must_divide_d_model():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
