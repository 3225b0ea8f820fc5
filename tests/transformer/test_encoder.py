import pytest
import torch
from torch import nn

from dlf.transformer import Encoder, Transformer, TransformerConfig, length_mask

from .torch_reference import copy_encoder_layer, randomize_


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_matches_nn_transformer_encoder(norm_first):
    d_model, n_heads, d_ff, n_layers = 8, 2, 16, 3
    ours = randomize_(Encoder(n_layers, d_model, n_heads, d_ff, 0.0, norm_first).double()).eval()
    layer = nn.TransformerEncoderLayer(
        d_model, n_heads, d_ff, 0.0, batch_first=True, norm_first=norm_first, dtype=torch.float64
    )
    final_norm = nn.LayerNorm(d_model, dtype=torch.float64) if norm_first else None
    ref = nn.TransformerEncoder(layer, n_layers, norm=final_norm, enable_nested_tensor=False)
    for our_layer, ref_layer in zip(ours.layers, ref.layers, strict=True):
        copy_encoder_layer(our_layer, ref_layer)
    if norm_first:
        final_norm.load_state_dict(ours.norm.state_dict())
    x = torch.randn(2, 5, d_model, dtype=torch.float64)
    pad = length_mask(torch.tensor([5, 3]))
    expected = ref.eval()(x, src_key_padding_mask=~pad[:, 0, 0])
    torch.testing.assert_close(ours(x, pad), expected, rtol=0, atol=1e-10)


def _small(positional, norm_first=False):
    config = TransformerConfig(
        vocab_size=11,
        d_model=16,
        n_heads=2,
        n_encoder_layers=2,
        n_decoder_layers=2,
        d_ff=24,
        dropout=0.0,
        positional=positional,
        max_len=16,
        norm_first=norm_first,
    )
    torch.manual_seed(0)
    return Transformer(config).double().eval()


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_without_positions_is_permutation_equivariant(norm_first):
    model = _small("none", norm_first)
    src = torch.randint(0, 11, (3, 9), generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(
        model.encode(src[:, perm]), model.encode(src)[:, perm], rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("positional", ["sinusoidal", "learned", "rope"])
def test_encoder_with_positions_is_not_permutation_equivariant(positional):
    model = _small(positional)
    src = torch.randint(0, 11, (3, 9), generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(2))
    gap = (model.encode(src[:, perm]) - model.encode(src)[:, perm]).abs().max()
    assert gap > 1e-3, f"permuting the input only permuted the output (max gap {gap:.2e})"
