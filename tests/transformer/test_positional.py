import math

import pytest
import torch
from torch import nn

from dlf.transformer import (
    POSITIONAL_ENCODINGS,
    LearnedPositionalEmbedding,
    NoPositionalEncoding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    Transformer,
    TransformerConfig,
    positional_encoding,
)
from dlf.transformer.positional import sinusoidal_table


@pytest.mark.parametrize(("n", "d"), [(1, 2), (7, 4), (50, 16)])
def test_sinusoidal_table_matches_the_papers_formula(n, d):
    expected = torch.tensor(
        [
            [
                math.sin(pos / 10000 ** (j / d))
                if j % 2 == 0
                else math.cos(pos / 10000 ** ((j - 1) / d))
                for j in range(d)
            ]
            for pos in range(n)
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(sinusoidal_table(n, d), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_sinusoidal_shift_is_a_linear_map_independent_of_position(k):
    """The paper's reason for sinusoids: PE(pos + k) = M_k PE(pos) for a fixed matrix M_k."""
    table = sinusoidal_table(40 + k, 8)
    before, after = table[:40], table[k : 40 + k]
    M_k = torch.linalg.lstsq(before, after).solution  # fitted on all positions at once
    torch.testing.assert_close(before @ M_k, after, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sinusoidal_module_adds_the_table_with_offset_and_grows(dtype):
    pe = SinusoidalPositionalEncoding(6, max_len=4)
    x = torch.randn(2, 3, 6, dtype=dtype)
    table = sinusoidal_table(8, 6).to(dtype)  # float64, rounded once
    torch.testing.assert_close(pe(x), x + table[:3], rtol=0, atol=0)
    torch.testing.assert_close(pe(x, offset=5), x + table[5:8], rtol=0, atol=0)  # beyond 4
    assert list(pe.parameters()) == [] and pe.state_dict() == {}


def test_learned_embedding_adds_trained_rows_and_refuses_unknown_positions():
    emb = LearnedPositionalEmbedding(max_len=5, d_model=4).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(emb(x, offset=2), x + emb.weight[2:5])
    assert list(emb.state_dict()) == ["weight"]  # GPT-2's wpe.weight when kept as wpe
    assert sum(p.numel() for p in emb.parameters()) == 20
    with pytest.raises(ValueError, match="max_len"):
        emb(x, offset=3)


def _rope_reference(x, offset, base=10000.0):
    """Su et al.'s complex form: pair (x_2i, x_2i+1) as x_2i + i x_2i+1, times e^(i m theta_i)."""
    d = x.size(-1)
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    m = torch.arange(offset, offset + x.size(-2), dtype=torch.float64)
    rotation = torch.polar(torch.ones(len(m), d // 2, dtype=torch.float64), m[:, None] * theta)
    pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * rotation).flatten(-2)


@pytest.mark.parametrize("shape", [(1, 2), (5, 8), (2, 3, 7, 16)])
@pytest.mark.parametrize("offset", [0, 9])
def test_rope_matches_complex_rotation(shape, offset):
    x = torch.randn(*shape, dtype=torch.float64)
    rope = RotaryEmbedding(shape[-1])
    torch.testing.assert_close(rope(x, offset), _rope_reference(x, offset), rtol=0, atol=1e-12)
    torch.testing.assert_close(rope(x, offset).norm(dim=-1), x.norm(dim=-1))  # a rotation


@pytest.mark.parametrize("d", [2, 8, 32])
def test_rope_score_depends_only_on_relative_position(d):
    """q_m . k_n with q at every position m and k at every n: constant along m - n."""
    g = torch.Generator().manual_seed(d)
    q, k = (
        torch.randn(d, generator=g, dtype=torch.float64),
        torch.randn(d, generator=g, dtype=torch.float64),
    )
    L = 12
    rope = RotaryEmbedding(d)
    scores = rope(q.expand(L, d)) @ rope(k.expand(L, d)).T  # scores[m, n]
    for delta in range(-L + 1, L):
        diagonal = torch.diagonal(scores, offset=delta)
        torch.testing.assert_close(diagonal, diagonal[:1].expand_as(diagonal), rtol=0, atol=1e-12)
    # ... and it does depend on m - n (otherwise the check above would be empty).
    assert not torch.allclose(scores[0, 0], scores[0, 1])


def test_rope_works_beyond_max_len_and_in_float32():
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    rope = RotaryEmbedding(8, max_len=3)
    torch.testing.assert_close(rope(x, 4), _rope_reference(x, 4), rtol=0, atol=1e-12)
    torch.testing.assert_close(rope(x.float(), 4), _rope_reference(x, 4).float())


def test_rope_needs_an_even_head_dimension():
    with pytest.raises(ValueError, match="even"):
        RotaryEmbedding(5)


@pytest.mark.parametrize("name", list(POSITIONAL_ENCODINGS))
def test_registry_builds_each_encoding_for_a_model(name):
    encoding = positional_encoding(name, d_model=16, n_heads=4, max_len=8)
    assert isinstance(encoding, POSITIONAL_ENCODINGS[name])
    x = torch.randn(2, 5, 4 if encoding.inside_attention else 16)  # a head's q/k, or embeddings
    assert encoding(x, offset=1).shape == x.shape
    model = Transformer(
        TransformerConfig(
            vocab_size=11, d_model=16, n_heads=4, n_encoder_layers=1, n_decoder_layers=1,
            d_ff=32, dropout=0.0, positional=name, max_len=8,
        )
    )  # fmt: skip
    assert model(torch.ones(2, 5, dtype=torch.long), torch.ones(2, 3, dtype=torch.long)).shape == (
        2, 3, 11,
    )  # fmt: skip


def test_no_positional_encoding_changes_nothing():
    x = torch.randn(2, 3, 4)
    assert torch.equal(NoPositionalEncoding()(x, offset=7), x)


class _Halved(nn.Module):
    """A made-up encoding: one registry line is all a model needs to use it."""

    inside_attention = False

    @classmethod
    def build(cls, d_model, n_heads, max_len):
        return cls()

    def forward(self, x, offset=0):
        return x / 2


def test_a_registered_encoding_is_used_by_the_transformer(monkeypatch):
    monkeypatch.setitem(POSITIONAL_ENCODINGS, "halved", _Halved)
    config = TransformerConfig(vocab_size=11, d_model=8, dropout=0.0, positional="halved")
    model = Transformer(config)
    tokens = torch.tensor([[3, 4]])
    scaled = model.embedding(tokens) * math.sqrt(8)
    torch.testing.assert_close(model.embed(tokens), scaled / 2)


def test_an_unknown_encoding_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="none, sinusoidal, learned, rope"):
        positional_encoding("alibi", 16, 4, 8)
    with pytest.raises(ValueError, match="not known"):
        TransformerConfig(positional="alibi")
