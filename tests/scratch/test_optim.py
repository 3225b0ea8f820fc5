"""Optimizers: parity with torch.optim in float64 over several steps, in-place and dtype rules."""

import numpy as np
import pytest
import torch

from dlf.scratch.optim import SGD, Adam, AdamW, Momentum, Nesterov, Optimizer, RMSProp

# (ours, torch's, shared keyword arguments or (ours, torch's) pairs)
CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, weight_decay=0.01)),
    (Momentum, torch.optim.SGD, (dict(lr=0.05), dict(lr=0.05, momentum=0.9))),
    (Nesterov, torch.optim.SGD, (dict(lr=0.05), dict(lr=0.05, momentum=0.9, nesterov=True))),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.05)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-3, weight_decay=0.1)),
    (RMSProp, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (Adam, torch.optim.Adam, dict(lr=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4, weight_decay=0.1)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.5, 0.9), weight_decay=0.3)),
]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("shapes", [{"W": (5, 3), "b": (3,)}, {"w": (7,), "K": (2, 3, 4)}])
def test_matches_torch_float64(ours, theirs, kwargs, shapes):
    ours_kw, theirs_kw = kwargs if isinstance(kwargs, tuple) else (kwargs, kwargs)
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt, topt = ours(**ours_kw), theirs(list(tparams.values()), **theirs_kw)
    arrays = {k: v for k, v in params.items()}  # the same objects must be updated in place
    for step in range(6):
        grads = {k: rng.standard_normal(s) for k, s in shapes.items()}
        if step == 3:  # a changed learning rate (as a schedule sets it) must take effect
            opt.lr *= 0.5
            for group in topt.param_groups:
                group["lr"] *= 0.5
        opt.step(params, grads)
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k])
        topt.step()
        for k, t in tparams.items():
            assert params[k] is arrays[k]
            np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ours", [SGD, Momentum, Nesterov, RMSProp, Adam, AdamW])
def test_float32_stays_float32_and_grads_untouched(ours):
    rng = np.random.default_rng(1)
    p = {"W": rng.standard_normal((4, 3)).astype(np.float32)}
    g = {"W": rng.standard_normal((4, 3)).astype(np.float32)}
    g_before = g["W"].copy()
    kwargs = {"weight_decay": 0.1} if ours is not SGD else {"weight_decay": 0.1, "momentum": 0.5}
    opt = ours(lr=0.01, **kwargs)
    before = p["W"].copy()
    opt.step(p, g)
    assert p["W"].dtype == np.float32
    assert not np.array_equal(p["W"], before)
    np.testing.assert_array_equal(g["W"], g_before)
    assert all(
        a.dtype == np.float32 for s in opt.state.values() for a in s.values() if hasattr(a, "dtype")
    )


def test_reused_key_for_another_array_is_an_error():
    opt = Momentum(lr=0.1)
    opt.step({"W": np.zeros(3)}, {"W": np.ones(3)})
    with pytest.raises(ValueError, match="unique key"):
        opt.step({"W": np.zeros(3)}, {"W": np.ones(3)})


def test_missing_gradient_is_an_error():
    with pytest.raises(KeyError, match="backward"):
        SGD(lr=0.1).step({"W": np.zeros(3)}, {})


def test_all_are_optimizers():
    for cls in (SGD, Momentum, Nesterov, RMSProp, Adam, AdamW):
        assert issubclass(cls, Optimizer)
