"""NumPy attention (dlf.scratch.attention): gradient checks in float64 and parity with PyTorch's
F.scaled_dot_product_attention and nn.MultiheadAttention (float64, same weights), masks."""

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import (
    MultiHeadSelfAttention,
    causal_mask,
    check_layer,
    numerical_gradient,
    padding_mask,
    relative_error,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)

GRADCHECK_TOL = 1e-7
PARITY_ATOL = 1e-6


def make_mask(kind: str, batch: int, length: int, rng: np.random.Generator):
    """A mask broadcastable to (B, [h,] L, L) for each case; None for no mask."""
    if kind == "none":
        return None
    if kind == "causal":
        return causal_mask(length)
    if kind == "padding":
        lengths = rng.integers(1, length + 1, batch)
        lengths[0] = length - 1
        return padding_mask(lengths, length)[:, None, :]
    if kind == "random with empty rows":
        mask = rng.random((batch, length, length)) < 0.6
        mask[:, 1, :] = False  # query 1 may attend to nothing: zeros, not NaN
        return mask
    raise ValueError(kind)


MASKS = ["none", "causal", "padding", "random with empty rows"]


def with_heads(mask):
    """(B, L, S) or (L, S) masks -> broadcastable to (B, h, L, S)."""
    return mask if mask is None or mask.ndim == 2 else mask[:, None]


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("shape", [(2, 4, 3, 5), (3, 5, 4, 2)])  # (B, T, d_k, d_v)
def test_attention_gradcheck(mask_kind, shape):
    b, t, d_k, d_v = shape
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((b, t, d_k)), rng.standard_normal((b, t, d_k))
    v = rng.standard_normal((b, t, d_v))
    mask = make_mask(mask_kind, b, t, rng)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    r = rng.standard_normal(out.shape)
    grads = scaled_dot_product_attention_backward(r, q, k, v, weights)

    def f(_):
        return float(np.sum(scaled_dot_product_attention(q, k, v, mask)[0] * r))

    for name, x, analytic in zip("qkv", (q, k, v), grads, strict=True):
        assert analytic.shape == x.shape
        err = relative_error(analytic, numerical_gradient(f, x))
        assert err <= GRADCHECK_TOL, (name, err)


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("shape", [(2, 6, 4, 3), (1, 3, 8, 8)])
def test_attention_equals_torch_sdpa(mask_kind, shape):
    b, t, d_k, d_v = shape
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((b, t, d_k)), rng.standard_normal((b, t, d_k))
    v = rng.standard_normal((b, t, d_v))
    mask = make_mask(mask_kind, b, t, rng)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    dout = rng.standard_normal(out.shape)
    dq, dk, dv = scaled_dot_product_attention_backward(dout, q, k, v, weights)

    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    mask_t = None if mask is None else torch.from_numpy(np.broadcast_to(mask, (b, t, t)).copy())
    out_t = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask_t)
    # torch gives NaN (or garbage) for a query with nothing to attend to: compare the others,
    # and check ours gives zeros there.
    live = np.ones((b, t), bool) if mask is None else mask_t.numpy().any(-1)
    keep = torch.from_numpy(live)[..., None]
    (torch.where(keep, out_t, 0.0) * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_allclose(out[live], out_t.detach().numpy()[live], rtol=0, atol=PARITY_ATOL)
    assert np.all(out[~live] == 0) and np.all(weights[~live] == 0)
    for ours, theirs in ((dq, qt), (dk, kt), (dv, vt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=PARITY_ATOL)
    assert all(np.isfinite(g).all() for g in (out, dq, dk, dv))


def test_attention_weights_rows_sum_to_one_and_masked_keys_get_zero():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((3, 7, 4)) * 4 for _ in range(3))
    mask = make_mask("random with empty rows", 3, 7, rng)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert np.all(weights[~mask] == 0)
    rows = mask.any(-1)
    np.testing.assert_allclose(weights.sum(-1)[rows], 1.0, atol=1e-12)
    assert np.all(weights.sum(-1)[~rows] == 0)


def torch_mha(layer: MultiHeadSelfAttention) -> torch.nn.MultiheadAttention:
    """nn.MultiheadAttention holding our weights (transposed: torch computes x W^T + b)."""
    p = {k: torch.from_numpy(v.astype(np.float64)) for k, v in layer.params.items()}
    mha = torch.nn.MultiheadAttention(
        layer.d_model, layer.n_heads, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([p["W_q"], p["W_k"], p["W_v"]], dim=1).T)
        mha.in_proj_bias.copy_(torch.cat([p["b_q"], p["b_k"], p["b_v"]]))
        mha.out_proj.weight.copy_(p["W_o"].T)
        mha.out_proj.bias.copy_(p["b_o"])
    return mha


def randomise_biases(layer, rng):
    for key, value in layer.params.items():
        if key.startswith("b_"):
            value[...] = rng.standard_normal(value.shape)


@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding"])
@pytest.mark.parametrize("d_model, n_heads, batch, length", [(8, 2, 2, 5), (12, 3, 3, 4)])
def test_multi_head_self_attention_equals_nn_multihead_attention(
    mask_kind, d_model, n_heads, batch, length
):
    rng = np.random.default_rng(3)
    layer = MultiHeadSelfAttention(d_model, n_heads, dtype=np.float64, rng=rng)
    randomise_biases(layer, rng)
    mha = torch_mha(layer)
    x = rng.standard_normal((batch, length, d_model))
    mask = make_mask(mask_kind, batch, length, rng)

    out = layer.forward(x, with_heads(mask))
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    xt = torch.tensor(x, requires_grad=True)
    kwargs = {}
    if mask_kind == "causal":
        kwargs["attn_mask"] = torch.from_numpy(~mask)  # torch's MHA: True = NOT allowed
    if mask_kind == "padding":
        kwargs["key_padding_mask"] = torch.from_numpy(~mask[:, 0, :])
    out_t, weights_t = mha(xt, xt, xt, need_weights=True, average_attn_weights=False, **kwargs)
    out_t.backward(torch.from_numpy(dout))

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(
        layer.attn_weights, weights_t.detach().numpy(), rtol=0, atol=PARITY_ATOL
    )
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=PARITY_ATOL)
    d = d_model
    torch_grads = {
        "W_q": mha.in_proj_weight.grad[:d].T,
        "W_k": mha.in_proj_weight.grad[d : 2 * d].T,
        "W_v": mha.in_proj_weight.grad[2 * d :].T,
        "b_q": mha.in_proj_bias.grad[:d],
        "b_k": mha.in_proj_bias.grad[d : 2 * d],
        "b_v": mha.in_proj_bias.grad[2 * d :],
        "W_o": mha.out_proj.weight.grad.T,
        "b_o": mha.out_proj.bias.grad,
    }
    assert set(torch_grads) == set(layer.grads)
    for key, grad in torch_grads.items():
        np.testing.assert_allclose(layer.grads[key], grad.numpy(), rtol=0, atol=PARITY_ATOL)


@pytest.mark.parametrize("mask_kind", MASKS)
def test_multi_head_self_attention_gradcheck(mask_kind):
    rng = np.random.default_rng(4)
    layer = MultiHeadSelfAttention(8, 2, rng=rng)  # float32; check_layer converts to float64
    randomise_biases(layer, rng)
    x = rng.standard_normal((2, 4, 8))
    mask = with_heads(make_mask(mask_kind, 2, 4, rng))
    layer.forward = functools.partial(layer.forward, mask=mask)  # check_layer calls forward(x)
    errors = check_layer(layer, x)
    # b_k adds q_i . b_k to every score of row i, which the softmax ignores: its true gradient is
    # 0, so both sides are rounding noise and the relative error means nothing (see check_layer).
    assert np.abs(layer.grads["b_k"]).max() <= 1e-12
    del errors["b_k"]
    assert set(errors) == {"x", "W_q", "b_q", "W_k", "W_v", "b_v", "W_o", "b_o"}
    assert max(errors.values()) <= GRADCHECK_TOL, errors


def test_causal_output_does_not_see_the_future():
    rng = np.random.default_rng(5)
    layer = MultiHeadSelfAttention(8, 4, dtype=np.float64, rng=rng)
    x = rng.standard_normal((1, 6, 8))
    base = layer.forward(x, causal_mask(6))
    for t in range(6):
        changed = x.copy()
        changed[:, t + 1 :] = rng.standard_normal(changed[:, t + 1 :].shape)
        out = layer.forward(changed, causal_mask(6))
        np.testing.assert_array_equal(out[:, : t + 1], base[:, : t + 1])
        if t < 5:
            assert not np.allclose(out[:, t + 1 :], base[:, t + 1 :])


def test_padding_hides_padded_keys_and_a_fully_masked_query_gives_zeros():
    rng = np.random.default_rng(6)
    layer = MultiHeadSelfAttention(6, 2, dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, 5, 6))
    mask = padding_mask([3, 5], 5)[:, None, None, :]
    out = layer.forward(x, mask)
    changed = x.copy()
    changed[0, 3:] = 100 * rng.standard_normal((2, 6))  # the padding of sequence 0
    np.testing.assert_allclose(layer.forward(changed, mask)[0, :3], out[0, :3], atol=1e-12)
    np.testing.assert_array_equal(layer.forward(changed, mask)[1], out[1])

    nothing = np.zeros((5, 5), dtype=bool)
    out = layer.forward(x, nothing)
    dx = layer.backward(np.ones_like(out))
    np.testing.assert_allclose(out, np.broadcast_to(layer.params["b_o"], out.shape))
    assert np.isfinite(dx).all() and np.all(layer.attn_weights == 0)


def test_dtype_params_and_errors():
    layer = MultiHeadSelfAttention(8, 2, rng=np.random.default_rng(7))
    x = np.random.default_rng(8).standard_normal((2, 3, 8)).astype(np.float32)
    out = layer.forward(x, causal_mask(3))
    assert out.dtype == np.float32 and layer.backward(out).dtype == np.float32
    assert layer.num_parameters() == 4 * (8 * 8 + 8)
    assert all(g.shape == layer.params[k].shape for k, g in layer.grads.items())
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(8, 3)
    with pytest.raises(ValueError, match="broadcast"):
        layer.forward(x, np.ones((4, 4), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        layer.forward(x, np.ones((3, 3)))
