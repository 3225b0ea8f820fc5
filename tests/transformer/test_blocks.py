import pytest
import torch
from torch import nn

from dlf.transformer import DecoderLayer, EncoderLayer, causal_mask, length_mask

from .torch_reference import copy_decoder_layer, copy_encoder_layer, randomize_

D_MODEL, N_HEADS, D_FF = 12, 3, 20


def _reference_kwargs(norm_first, activation):
    return dict(
        d_model=D_MODEL,
        nhead=N_HEADS,
        dim_feedforward=D_FF,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
        dtype=torch.float64,
    )


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_nn_transformer_encoder_layer(norm_first, activation):
    ours = EncoderLayer(D_MODEL, N_HEADS, D_FF, 0.0, norm_first, activation).double()
    randomize_(ours).eval()
    ref = nn.TransformerEncoderLayer(**_reference_kwargs(norm_first, activation)).eval()
    copy_encoder_layer(ours, ref)
    x = torch.randn(3, 6, D_MODEL, dtype=torch.float64)
    pad = length_mask(torch.tensor([6, 4, 1]))
    torch.testing.assert_close(
        ours(x, pad), ref(x, src_key_padding_mask=~pad[:, 0, 0]), rtol=0, atol=1e-10
    )


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_layer_matches_nn_transformer_decoder_layer(norm_first, activation):
    ours = DecoderLayer(D_MODEL, N_HEADS, D_FF, 0.0, norm_first, activation).double()
    randomize_(ours).eval()
    ref = nn.TransformerDecoderLayer(**_reference_kwargs(norm_first, activation)).eval()
    copy_decoder_layer(ours, ref)
    x = torch.randn(3, 5, D_MODEL, dtype=torch.float64)
    memory = torch.randn(3, 7, D_MODEL, dtype=torch.float64)
    src_pad = length_mask(torch.tensor([7, 3, 5]))
    tgt_pad = length_mask(torch.tensor([5, 5, 2]))
    out = ours(x, memory, src_mask=src_pad, tgt_mask=causal_mask(5) & tgt_pad)
    expected = ref(
        x,
        memory,
        tgt_mask=~causal_mask(5),
        tgt_key_padding_mask=~tgt_pad[:, 0, 0],
        memory_key_padding_mask=~src_pad[:, 0, 0],
    )
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-10)


def test_post_norm_output_is_normalised_and_pre_norm_keeps_the_residual():
    x = 5 + 3 * torch.randn(2, 4, D_MODEL, dtype=torch.float64)
    post = EncoderLayer(D_MODEL, N_HEADS, D_FF, 0.0, norm_first=False).double()
    out = post(x)  # LayerNorm last, with its initial scale 1 and shift 0
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 4, dtype=torch.float64))
    pre = EncoderLayer(D_MODEL, N_HEADS, D_FF, 0.0, norm_first=True).double()
    with torch.no_grad():  # zero both sublayers' output projections: only the identity path left
        for linear in (pre.self_attn.W_o, pre.feed_forward.W_2):
            linear.weight.zero_()
            linear.bias.zero_()
    torch.testing.assert_close(pre(x), x, rtol=0, atol=0)
