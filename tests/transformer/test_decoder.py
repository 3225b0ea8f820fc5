import pytest
import torch
from torch import nn

from dlf.transformer import Decoder, Transformer, TransformerConfig, causal_mask, padding_mask

from .torch_reference import copy_decoder_layer, randomize_


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_matches_nn_transformer_decoder(norm_first):
    d_model, n_heads, d_ff, n_layers = 8, 2, 16, 3
    ours = randomize_(Decoder(n_layers, d_model, n_heads, d_ff, 0.0, norm_first).double()).eval()
    layer = nn.TransformerDecoderLayer(
        d_model, n_heads, d_ff, 0.0, batch_first=True, norm_first=norm_first, dtype=torch.float64
    )
    final_norm = nn.LayerNorm(d_model, dtype=torch.float64) if norm_first else None
    ref = nn.TransformerDecoder(layer, n_layers, norm=final_norm).eval()
    for our_layer, ref_layer in zip(ours.layers, ref.layers, strict=True):
        copy_decoder_layer(our_layer, ref_layer)
    if norm_first:
        final_norm.load_state_dict(ours.norm.state_dict())
    x = torch.randn(2, 4, d_model, dtype=torch.float64)
    memory = torch.randn(2, 6, d_model, dtype=torch.float64)
    torch.testing.assert_close(
        ours(x, memory, tgt_mask=causal_mask(4)),
        ref(x, memory, tgt_mask=~causal_mask(4)),
        rtol=0,
        atol=1e-10,
    )


@pytest.mark.parametrize("positional", ["none", "sinusoidal", "learned", "rope"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_output_t_does_not_see_tokens_after_t(positional, norm_first):
    config = TransformerConfig(
        vocab_size=13,
        d_model=16,
        n_heads=4,
        n_encoder_layers=1,
        n_decoder_layers=2,
        d_ff=32,
        dropout=0.0,
        positional=positional,
        max_len=16,
        norm_first=norm_first,
    )
    torch.manual_seed(0)
    model = Transformer(config).double().eval()
    g = torch.Generator().manual_seed(1)
    src = torch.randint(1, 13, (2, 6), generator=g)
    tgt = torch.randint(1, 13, (2, 8), generator=g)
    memory = model.encode(src)
    logits = model.decode(tgt, memory)
    for t in range(8):
        changed = tgt.clone()
        changed[:, t + 1 :] = torch.randint(1, 13, (2, 7 - t), generator=g)
        after = model.decode(changed, memory)
        torch.testing.assert_close(after[:, : t + 1], logits[:, : t + 1], rtol=0, atol=1e-12)
        # step-by-step decoding (prefix only) gives the same logits
        prefix = model.decode(tgt[:, : t + 1], memory)
        torch.testing.assert_close(prefix, logits[:, : t + 1], rtol=0, atol=1e-12)
    changed = tgt.clone()
    changed[:, 3] = (changed[:, 3] % 12) + 1
    later = model.decode(changed, memory)[:, 3:]
    assert (later - logits[:, 3:]).abs().max() > 1e-6  # and it does see tokens up to t


def test_padding_mask_hides_padded_target_tokens():
    config = TransformerConfig(
        vocab_size=9,
        d_model=8,
        n_heads=2,
        n_encoder_layers=1,
        n_decoder_layers=1,
        d_ff=16,
        dropout=0.0,
    )
    torch.manual_seed(0)
    model = Transformer(config).double().eval()
    src = torch.tensor([[3, 4, 5, 0, 0]])
    tgt = torch.tensor([[1, 6, 7, 0]])
    other = torch.tensor([[3, 4, 5, 8, 2]])  # different tokens in the padded source slots
    logits = model(src, tgt, padding_mask(src, 0), causal_mask(4) & padding_mask(tgt, 0))
    again = model(other, tgt, padding_mask(src, 0), causal_mask(4) & padding_mask(tgt, 0))
    torch.testing.assert_close(logits[:, :3], again[:, :3], rtol=0, atol=1e-12)
