import pytest
import torch
import torch.nn.functional as F

from dlf.transformer import (
    causal_mask,
    length_mask,
    padding_mask,
    scaled_dot_product_attention,
)

# (leading batch dims, L, S, d, dv)
SHAPES = [((), 1, 1, 4, 4), ((2,), 5, 5, 8, 8), ((2, 3), 4, 7, 6, 5), ((3, 2), 7, 3, 16, 2)]


def _qkv(lead, L, S, d, dv, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*lead, L, d, generator=g, dtype=torch.float64)
    k = torch.randn(*lead, S, d, generator=g, dtype=torch.float64)
    v = torch.randn(*lead, S, dv, generator=g, dtype=torch.float64)
    return q, k, v


def _mask(kind, lead, L, S, seed=0):
    if kind == "none":
        return None
    if kind == "causal":
        return causal_mask(L, S)
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(*lead, L, S, generator=g) < 0.6
    mask[..., 0] = True  # no fully masked row: F.sdpa gives NaN there
    return mask


def _reference_weights(q, k, mask):
    """F.sdpa with V = identity returns the attention weights themselves."""
    eye = torch.eye(k.size(-2), dtype=k.dtype).expand(*k.shape[:-2], -1, -1)
    return F.scaled_dot_product_attention(q, k, eye, attn_mask=mask)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["none", "causal", "random"])
def test_matches_pytorch(shape, kind):
    q, k, v = _qkv(*shape)
    mask = _mask(kind, shape[0], shape[1], shape[2])
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(weights, _reference_weights(q, k, mask), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_rows_sum_to_one_and_masked_keys_get_zero(shape):
    q, k, v = _qkv(*shape, seed=1)
    mask = _mask("random", shape[0], shape[1], shape[2], seed=1)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))
    assert (weights.expand_as(weights)[~mask.expand_as(weights)] == 0).all()
    assert (weights[mask.expand_as(weights)] > 0).all()


@pytest.mark.parametrize("shape", SHAPES[1:])
def test_fully_masked_rows_give_zeros_not_nan(shape):
    lead, L, S, d, dv = shape
    q, k, v = _qkv(*shape, seed=2)
    q.requires_grad_(True)
    mask = _mask("random", lead, L, S, seed=2).clone()
    mask[..., 0, :] = False  # query 0 may attend to nothing
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    assert (out[..., 0, :] == 0).all() and (weights[..., 0, :] == 0).all()
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out[..., 1:, :], ref[..., 1:, :], rtol=0, atol=1e-12)
    out.sum().backward()
    assert torch.isfinite(q.grad).all()
    assert (q.grad[..., 0, :] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_fully_masked_rows_stay_finite_at_the_edge_of_the_range(dtype):
    big = 128.0 if dtype == torch.float16 else 1e19  # scores at or past -finfo.max: -inf
    q = torch.full((1, 2, 4), big, dtype=dtype, requires_grad=True)
    k = torch.full((1, 2, 4), -big, dtype=dtype)
    v = torch.ones(1, 2, 2, dtype=dtype)
    mask = torch.tensor([[False, False], [True, False]])
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(out).all() and (out[:, 0] == 0).all() and (weights[:, 0] == 0).all()
    out.float().sum().backward()
    assert torch.isfinite(q.grad).all()


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_a_masked_key_cannot_reach_the_output(bad):
    q, k, v = _qkv((1,), 2, 3, 4, 2, seed=5)
    k[0, 2] = bad  # garbage at a padding position
    mask = torch.tensor([True, True, False])
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    ref, _ = scaled_dot_product_attention(q, k[:, :2], v[:, :2])
    torch.testing.assert_close(out, ref)
    assert (weights[..., 2] == 0).all()


def test_a_masked_key_gets_no_weight_even_with_a_far_larger_score():
    q, k = torch.tensor([[1e19]]), torch.tensor([[-2e19], [0.0]])  # allowed score -2e38
    v = torch.tensor([[1.0], [100.0]])
    out, weights = scaled_dot_product_attention(q, k, v, torch.tensor([True, False]))
    assert weights.tolist() == [[1.0, 0.0]] and out.tolist() == [[1.0]]


def test_gradcheck_with_masks():
    q, k, v = _qkv((2,), 4, 5, 3, 2, seed=3)
    mask = _mask("random", (2,), 4, 5, seed=3).clone()
    mask[1, 2, :] = False
    inputs = [t.requires_grad_(True) for t in (q, k, v)]
    assert torch.autograd.gradcheck(
        lambda q, k, v: scaled_dot_product_attention(q, k, v, mask), inputs
    )


def test_dropout_acts_on_weights_and_returned_weights_are_before_dropout():
    q, k, v = _qkv((2,), 3, 4, 5, 6, seed=4)
    keep = torch.tensor([[1.0, 0.0, 2.0, 0.0]], dtype=torch.float64)  # a fixed "dropout" mask
    out, weights = scaled_dot_product_attention(q, k, v, dropout=lambda w: w * keep)
    ref_out, ref_weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(weights, ref_weights, rtol=0, atol=0)
    torch.testing.assert_close(out, (ref_weights * keep) @ v)


def test_non_boolean_mask_is_rejected():
    q, k, v = _qkv((), 2, 2, 3, 3)
    with pytest.raises(TypeError, match="boolean"):
        scaled_dot_product_attention(q, k, v, torch.ones(2, 2))


@pytest.mark.parametrize(("L", "S"), [(1, 1), (4, 4), (3, 5), (1, 6)])
def test_causal_mask_is_lower_triangle_aligned_to_the_last_query(L, S):
    expected = torch.tensor([[j <= i + S - L for j in range(S)] for i in range(L)])
    assert torch.equal(causal_mask(L, S), expected)
    assert causal_mask(L, S)[-1].all()  # the newest query sees every key


def test_padding_and_length_masks_agree():
    tokens = torch.tensor([[5, 6, 7, 0], [8, 0, 0, 0], [1, 2, 3, 4]])
    lengths = torch.tensor([3, 1, 4])
    expected = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert padding_mask(tokens, pad_id=0).shape == (3, 1, 1, 4)
    assert torch.equal(padding_mask(tokens, pad_id=0)[:, 0, 0], expected)
    assert torch.equal(length_mask(lengths), padding_mask(tokens, pad_id=0))
    assert length_mask(lengths, max_len=6).shape == (3, 1, 1, 6)
