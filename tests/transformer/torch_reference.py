"""Copy our modules' weights into PyTorch's reference modules, for parity tests."""

from __future__ import annotations

import torch
from torch import nn

from dlf.transformer import DecoderLayer, EncoderLayer, MultiHeadAttention


@torch.no_grad()
def randomize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter (LayerNorm scales and biases too) random values, so that parity
    cannot hold by accident of ones and zeros."""
    generator = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.copy_(0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return module


@torch.no_grad()
def copy_attention(ours: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
    ref.out_proj.weight.copy_(ours.W_o.weight)
    if ours.W_q.bias is not None:
        ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        ref.out_proj.bias.copy_(ours.W_o.bias)


@torch.no_grad()
def _copy_common(ours: EncoderLayer | DecoderLayer, ref: nn.Module) -> None:
    copy_attention(ours.self_attn, ref.self_attn)
    ref.linear1.load_state_dict(ours.feed_forward.W_1.state_dict())
    ref.linear2.load_state_dict(ours.feed_forward.W_2.state_dict())
    ref.norm1.load_state_dict(ours.norm_1.state_dict())
    ref.norm2.load_state_dict(ours.norm_2.state_dict())


def copy_encoder_layer(ours: EncoderLayer, ref: nn.TransformerEncoderLayer) -> None:
    _copy_common(ours, ref)


def copy_decoder_layer(ours: DecoderLayer, ref: nn.TransformerDecoderLayer) -> None:
    _copy_common(ours, ref)
    copy_attention(ours.cross_attn, ref.multihead_attn)
    ref.norm3.load_state_dict(ours.norm_3.state_dict())
