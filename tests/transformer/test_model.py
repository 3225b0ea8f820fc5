import math

import pytest
import torch
from torch import nn

from dlf.transformer import (
    LabelSmoothingLoss,
    Transformer,
    TransformerConfig,
    base_parameter_count,
    causal_mask,
    count_parameters,
    padding_mask,
    paper_optimizer,
)

from .torch_reference import copy_decoder_layer, copy_encoder_layer, randomize_


def _config(**overrides):
    fields = dict(
        vocab_size=17,
        d_model=16,
        n_heads=4,
        n_encoder_layers=2,
        n_decoder_layers=3,
        d_ff=32,
        dropout=0.0,
        max_len=32,
    )
    return TransformerConfig(**(fields | overrides))


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("norm_first", [False, True])
def test_matches_nn_transformer_with_copied_weights(norm_first):
    config = _config(norm_first=norm_first)
    model = randomize_(Transformer(config).double()).eval()
    ref = nn.Transformer(
        config.d_model,
        config.n_heads,
        config.n_encoder_layers,
        config.n_decoder_layers,
        config.d_ff,
        dropout=0.0,
        batch_first=True,
        norm_first=norm_first,
        dtype=torch.float64,
    ).eval()
    for ours, theirs in zip(model.encoder.layers, ref.encoder.layers, strict=True):
        copy_encoder_layer(ours, theirs)
    for ours, theirs in zip(model.decoder.layers, ref.decoder.layers, strict=True):
        copy_decoder_layer(ours, theirs)
    if norm_first:
        ref.encoder.norm.load_state_dict(model.encoder.norm.state_dict())
        ref.decoder.norm.load_state_dict(model.decoder.norm.state_dict())
    else:  # nn.Transformer always adds a final LayerNorm; the paper's post-norm stack has none
        ref.encoder.norm = None
        ref.decoder.norm = None
    g = torch.Generator().manual_seed(0)
    src = torch.randint(1, 17, (3, 7), generator=g)
    tgt = torch.randint(1, 17, (3, 5), generator=g)
    src[1, 4:] = 0
    src_mask = padding_mask(src, 0)
    logits = model(src, tgt, src_mask, causal_mask(5))
    hidden = ref(
        model.embed(src),
        model.embed(tgt),
        tgt_mask=~causal_mask(5),
        src_key_padding_mask=~src_mask[:, 0, 0],
        memory_key_padding_mask=~src_mask[:, 0, 0],
    )
    expected = hidden @ model.embedding.weight.T
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-10)


def test_embeddings_are_shared_scaled_and_tied_to_the_output():
    model = Transformer(_config(positional="none")).double().eval()
    assert model.output_projection.weight is model.embedding.weight
    tokens = torch.tensor([[1, 5, 16]])
    expected = model.embedding.weight[tokens] * math.sqrt(16)
    torch.testing.assert_close(model.embed(tokens), expected, rtol=0, atol=0)
    # Tied: a gradient through the output projection reaches the embedding matrix.
    memory = model.encode(tokens)
    model.decode(tokens, memory)[0, -1, 3].backward()
    assert model.embedding.weight.grad[3].abs().sum() > 0


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_base_parameter_count_agrees_with_pytorchs_transformer():
    count, explanation = base_parameter_count()
    with torch.device("meta"):
        reference = nn.Transformer(512, 8, 6, 6, 2048)  # + 2 final LayerNorms we do not have
    expected = count_parameters(reference) - 2 * 2 * 512 + 37000 * 512
    assert count == expected
    assert "65 M" in explanation and f"{count:,}" in explanation


def test_attention_maps_cover_every_layer_and_head():
    model = Transformer(_config()).eval()
    src, tgt = torch.randint(0, 17, (2, 6)), torch.randint(0, 17, (2, 4))
    model.record_attention(True)
    model(src, tgt)
    maps = model.attention_maps()
    assert len(maps) == 2 + 2 * 3
    assert maps["encoder.layers.1.self_attn"].shape == (2, 4, 6, 6)
    assert maps["decoder.layers.0.self_attn"].shape == (2, 4, 4, 4)
    assert maps["decoder.layers.2.cross_attn"].shape == (2, 4, 4, 6)
    assert (maps["decoder.layers.0.self_attn"][..., 0, 1:] == 0).all()  # causal
    model.record_attention(False)
    assert model.attention_maps() == {}


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("positional", "alibi", "sinusoidal"), ("n_heads", 5, "divisible")],
)
def test_bad_config_is_explained(field, value, match):
    with pytest.raises(ValueError, match=match):
        _config(**{field: value})


def test_learns_to_copy():
    """A loss that falls: a 1+1-layer model learns to copy 5 tokens with the paper's optimizer."""
    torch.manual_seed(0)
    config = _config(vocab_size=12, d_model=32, n_encoder_layers=1, n_decoder_layers=1, d_ff=64)
    model = Transformer(config)
    optimizer, scheduler = paper_optimizer(
        model.parameters(), config.d_model, warmup=50, lr_scale=0.5
    )
    loss_fn = LabelSmoothingLoss(smoothing=0.0, ignore_index=0)
    bos = 1
    losses = []
    for _ in range(300):
        src = torch.randint(2, 12, (32, 5))
        tgt_in = torch.cat([torch.full((32, 1), bos), src[:, :-1]], dim=1)
        loss = loss_fn(model(src, tgt_in), src)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    assert losses[0] > 2.0 and sum(losses[-10:]) / 10 < 0.1, losses[::30]
