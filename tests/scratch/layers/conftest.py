"""Shared check for the layer tests: forward and backward parity with PyTorch in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

PARITY_ATOL = 1e-6


def _parity(
    layer,
    x: np.ndarray,
    torch_fn: Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor],
    seed: int = 0,
) -> dict[str, float]:
    """Run ``layer`` (cast to float64) and ``torch_fn(x, params)`` on the same input and ``dy``.

    Asserts that the outputs, ``dx`` and every parameter gradient agree to ``PARITY_ATOL``, and
    returns the largest absolute difference of each, keyed "out", "x", and the parameter names.
    """
    layer.astype(np.float64)
    floating = np.issubdtype(x.dtype, np.floating)
    x = x.astype(np.float64) if floating else x
    params_t = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    x_t = torch.tensor(x, requires_grad=floating)

    out = layer.forward(x.copy())
    # Not default_rng(seed): tests draw x from it, and dy = x would hide errors of LayerNorm.
    dout = np.random.default_rng([seed, 99]).standard_normal(out.shape)
    dx = layer.backward(dout)
    out_t = torch_fn(x_t, params_t)
    out_t.backward(torch.from_numpy(dout))

    diffs = {"out": float(np.max(np.abs(out - out_t.detach().numpy()), initial=0.0))}
    if floating:
        diffs["x"] = float(np.max(np.abs(dx - x_t.grad.numpy()), initial=0.0))
    for k, p in params_t.items():
        diffs[k] = float(np.max(np.abs(layer.grads[k] - p.grad.numpy()), initial=0.0))
    assert out.shape == tuple(out_t.shape)
    assert max(diffs.values()) <= PARITY_ATOL, diffs
    return diffs


@pytest.fixture
def torch_parity():
    """``torch_parity(layer, x, torch_fn)``: see :func:`_parity`."""
    return _parity
