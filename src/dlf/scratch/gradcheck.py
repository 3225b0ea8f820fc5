"""Gradient checking: compare analytic gradients with centred finite differences in float64.

A backward pass is trusted once it agrees with the numerical derivative

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)        (error O(h^2))

to a relative error of about 1e-7 or better in float64. Layers are checked through the scalar
``f(x) = sum(layer(x) * r)`` with a fixed random ``r``, whose gradient with respect to the output
is ``r`` itself, so one check exercises every output of the backward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlf.scratch.layers.base import Layer

TOLERANCE = 1e-7
_TINY = 1e-300
_PROJECTION_STREAM = 0x6C0DE


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of a scalar ``f`` at ``x``: ``(f(x + h) - f(x - h)) / 2h``.

    Each entry of ``x`` is perturbed IN PLACE (so ``f`` may also read ``x`` through a layer that
    holds it, e.g. a parameter array) and restored afterwards. ``f`` is called with ``x``.
    Shapes: ``x`` any float array -> gradient of the same shape. Costs ``2 * x.size`` calls.
    Example: ``numerical_gradient(lambda v: float(np.sum(v**2)), np.array([1.0, -2.0]))``
    -> ``[2.0, -4.0]``.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Normwise relative error ``max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), tiny)``.

    One scale for the whole array (its largest entry), so entries that are 0 in one gradient and
    1e-12 in the other do not count as 100% wrong, as they would element by element.
    0 when both are all zero. Example: ``relative_error([1.0, 0.0], [1.0, 1e-9])`` -> 5e-10.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes {a.shape} and {b.shape} differ")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), _TINY)
    return float(np.max(np.abs(a - b))) / scale


def check_layer(
    layer: Layer,
    x: np.ndarray,
    seed: int = 0,
    *,
    h: float = 1e-5,
    before_forward: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Relative errors of a layer's backward: ``{"x": err, "W": err, ...}`` for input and params.

    The layer is converted to float64 in place (``layer.astype``); ``x`` is copied to float64
    (integer inputs, e.g. Embedding ids, are kept and have no ``"x"`` entry). The loss is
    ``f = sum(layer(x) * r)``, ``r ~ N(0, 1)`` drawn from ``seed``. Parameter keys are the
    layer's own (``"0.W"`` for a Sequential). ``before_forward`` runs before every forward pass:
    use it to make a random layer repeat itself (e.g. re-seed a Dropout's generator).

    A parameter whose true gradient is identically zero (the bias of a Linear right before a
    BatchNorm, which removes any shift) reports an error near 1: both sides are rounding noise.
    """
    layer.astype(np.float64)
    x = np.array(x, dtype=np.float64) if np.issubdtype(np.asarray(x).dtype, np.floating) else x
    reset = before_forward if before_forward is not None else (lambda: None)

    reset()
    out = layer.forward(x)
    # A stream of its own: r never equals an input the caller drew with default_rng(seed).
    r = np.random.default_rng([_PROJECTION_STREAM, seed]).standard_normal(np.shape(out))
    dx = layer.backward(r)
    analytic = {k: g.copy() for k, g in layer.grads.items()}

    def f(_: np.ndarray) -> float:
        reset()
        return float(np.sum(layer.forward(x) * r))

    errors: dict[str, float] = {}
    if np.issubdtype(x.dtype, np.floating):
        errors["x"] = relative_error(dx, numerical_gradient(f, x, h))
    for k, p in layer.params.items():
        errors[k] = relative_error(analytic[k], numerical_gradient(f, p, h))
    return errors


def check_loss(
    loss_fn: Callable[..., tuple[float, object]], *args: object, h: float = 1e-5
) -> dict[str, float]:
    """Relative error of a loss's gradient with respect to its FIRST argument, in float64.

    ``loss_fn(*args) -> (loss, grad)``. If the first argument is an array, returns ``{"x": err}``;
    if it is a dict of arrays (``l2_penalty``), ``{key: err}`` per entry, a missing gradient
    key counting as zero. The other arguments (labels, targets, ...) are passed unchanged.
    Example: ``check_loss(mse, pred, target)`` -> ``{"x": 1e-11}``.
    """
    first, rest = args[0], args[1:]
    if isinstance(first, dict):
        arrays = {k: np.array(v, dtype=np.float64) for k, v in first.items()}
        _, grads = loss_fn(arrays, *rest)
        errors = {}
        for k, p in arrays.items():
            num = numerical_gradient(lambda _: loss_fn(arrays, *rest)[0], p, h)
            errors[k] = relative_error(grads.get(k, np.zeros_like(p)), num)
        return errors
    x = np.array(first, dtype=np.float64)
    _, grad = loss_fn(x, *rest)
    return {"x": relative_error(grad, numerical_gradient(lambda v: loss_fn(v, *rest)[0], x, h))}


@dataclass
class LayerCase:
    """One gradient check of :func:`gradcheck_table`: a layer on an input.

    ``before_forward`` runs before every forward pass (to make a random layer repeat itself).
    """

    name: str
    layer: Layer
    x: np.ndarray
    before_forward: Callable[[], None] | None = None


def layer_cases(rng: np.random.Generator) -> list[LayerCase]:
    """The registry of layer checks: every from-scratch layer of ``dlf.scratch`` at least once,
    on small random inputs drawn from ``rng`` (a test requires each Layer subclass here). The
    GPT, whose backward starts from its own loss (``GPT.loss``, then ``GPT.backward()``), is
    checked through its blocks here and against PyTorch in its own tests.

    Inputs of the pooling layers have distinct values spaced far more than the difference step,
    so a max never changes place under a perturbation; convolutions and attention run in
    float64 like the rest (``check_layer`` converts them).
    """
    from dlf.scratch.attention import MultiHeadSelfAttention
    from dlf.scratch.gpt import Block, CausalSelfAttention
    from dlf.scratch.gpt.block import MLP
    from dlf.scratch.layers import (
        GELU,
        AvgPool2d,
        BatchNorm1d,
        BatchNorm2d,
        Conv2d,
        Dropout,
        Embedding,
        Flatten,
        GlobalAvgPool2d,
        LayerNorm,
        LeakyReLU,
        Linear,
        MaxPool2d,
        ReLU,
        Sequential,
        Sigmoid,
        Tanh,
    )

    def randn(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    def spread(*shape: int) -> np.ndarray:
        """Distinct values, 0.1 apart, in random order."""
        return 0.1 * rng.permutation(int(np.prod(shape))).reshape(shape) - 1.0

    def with_affine(layer: Layer) -> Layer:
        """Random gamma and beta (in place), so their gradients are checked away from 1 and 0."""
        layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.params["gamma"].shape)
        if "beta" in layer.params:
            layer.params["beta"][...] = randn(*layer.params["beta"].shape)
        return layer

    def with_running_stats(bn: BatchNorm1d) -> BatchNorm1d:
        bn.buffers["running_mean"][...] = randn(*bn.buffers["running_mean"].shape)
        bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, bn.buffers["running_var"].shape)
        return bn

    def fixed_dropout(p: float) -> tuple[Dropout, Callable[[], None]]:
        drop = Dropout(p)

        def reseed() -> None:
            drop.rng = np.random.default_rng(1)

        return drop, reseed

    drop, reseed = fixed_dropout(0.3)
    mlp_drop, mlp_reseed = fixed_dropout(0.2)
    mlp = Sequential(  # no bias before BatchNorm: its gradient is exactly 0 (see check_layer)
        Linear(6, 5, bias=False, rng=rng),
        with_affine(BatchNorm1d(5)),
        ReLU(),
        mlp_drop,
        Linear(5, 4, rng=rng),
        Tanh(),
        Linear(4, 3, rng=rng),
    )
    cnn = Sequential(
        Conv2d(1, 2, 3, padding=1, bias=False, rng=rng),
        with_affine(BatchNorm2d(2)),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(2 * 2 * 2, 3, rng=rng),
    )
    small = {"dtype": np.float64, "rng": rng}
    return [
        LayerCase("Linear", Linear(5, 4, rng=rng), randn(3, 5)),
        LayerCase("Linear (3-D input)", Linear(4, 3, rng=rng), randn(2, 3, 4)),
        LayerCase("ReLU", ReLU(), randn(4, 6)),
        LayerCase("LeakyReLU", LeakyReLU(0.1), randn(4, 6)),
        LayerCase("Sigmoid", Sigmoid(), randn(4, 6)),
        LayerCase("Tanh", Tanh(), randn(4, 6)),
        LayerCase("GELU", GELU(), 2 * randn(4, 6)),
        LayerCase("GELU (tanh)", GELU("tanh"), 2 * randn(4, 6)),
        LayerCase("Dropout (train, fixed mask)", drop, randn(4, 6), reseed),
        LayerCase("BatchNorm1d (train)", with_affine(BatchNorm1d(4)), randn(6, 4)),
        LayerCase("BatchNorm1d (train, N C L)", with_affine(BatchNorm1d(3)), randn(4, 3, 2)),
        LayerCase(
            "BatchNorm1d (eval)",
            with_running_stats(with_affine(BatchNorm1d(4))).eval(),
            randn(5, 4),
        ),
        LayerCase("BatchNorm2d (train)", with_affine(BatchNorm2d(3)), randn(2, 3, 3, 2)),
        LayerCase(
            "BatchNorm2d (eval)",
            with_running_stats(with_affine(BatchNorm2d(2))).eval(),
            randn(2, 2, 3, 3),
        ),
        LayerCase("LayerNorm", with_affine(LayerNorm(5)), randn(3, 5)),
        LayerCase("Embedding", Embedding(7, 3, rng=rng), rng.integers(0, 7, (2, 5))),
        LayerCase("Flatten", Flatten(), randn(2, 3, 4)),
        LayerCase("Conv2d (3x3, pad 1)", Conv2d(2, 3, 3, padding=1, rng=rng), randn(2, 2, 5, 5)),
        LayerCase(
            "Conv2d (stride 2, 2x3)", Conv2d(2, 2, (2, 3), stride=2, rng=rng), randn(1, 2, 5, 6)
        ),
        LayerCase("MaxPool2d (2)", MaxPool2d(2), spread(2, 2, 4, 4)),
        LayerCase("MaxPool2d (3, stride 2)", MaxPool2d(3, stride=2), spread(1, 2, 5, 5)),
        LayerCase("AvgPool2d (2)", AvgPool2d(2), randn(2, 2, 4, 4)),
        LayerCase("GlobalAvgPool2d", GlobalAvgPool2d(), randn(2, 3, 3, 2)),
        # b_k's true gradient is 0 (softmax ignores a shift shared by all keys): no biases here
        LayerCase(
            "MultiHeadSelfAttention",
            MultiHeadSelfAttention(6, 2, bias=False, **small),
            randn(2, 3, 6),
        ),
        LayerCase("CausalSelfAttention", CausalSelfAttention(6, 2, **small), randn(2, 3, 6)),
        LayerCase("MLP (GPT block)", MLP(4, **small), randn(2, 3, 4)),
        LayerCase("Block (GPT)", Block(6, 2, **small), randn(2, 3, 6)),
        LayerCase("Sequential (MLP)", mlp, randn(8, 6), mlp_reseed),
        LayerCase("Sequential (CNN)", cnn, spread(2, 1, 4, 4)),
    ]


def gradcheck_table(tolerance: float = TOLERANCE) -> list[dict]:
    """Gradient-check every layer (:func:`layer_cases`) and loss of ``dlf.scratch``.

    One row per case: ``{"name", "max_rel_error", "passed"}``, the largest relative error over
    the input and every parameter, passing when ``<= tolerance`` (1e-7). Deterministic (fixed
    seeds); ``dlf gradcheck`` prints it.
    """
    from dlf.scratch.losses import l2_penalty, mse, softmax_cross_entropy, svm_loss

    rng = np.random.default_rng(0)
    rows = []
    for case in layer_cases(rng):
        errors = check_layer(case.layer, case.x, before_forward=case.before_forward)
        rows.append(_row(case.name, errors, tolerance))

    labels = rng.integers(0, 4, 5)
    loss_cases = [
        ("softmax_cross_entropy", softmax_cross_entropy, (3 * rng.standard_normal((5, 4)), labels)),
        ("svm_loss", svm_loss, (rng.standard_normal((5, 4)), labels)),
        ("mse", mse, (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
        (
            "l2_penalty",
            l2_penalty,
            ({"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}, 0.3),
        ),
    ]
    for name, fn, args in loss_cases:
        rows.append(_row(name, check_loss(fn, *args), tolerance))
    return rows


def _row(name: str, errors: dict[str, float], tolerance: float) -> dict:
    worst = max(errors.values(), default=0.0)
    return {"name": name, "max_rel_error": worst, "passed": worst <= tolerance}


def format_gradcheck_table(rows: list[dict], tolerance: float = TOLERANCE) -> str:
    """The rows of :func:`gradcheck_table` as aligned text: one line per case, then the count.

    Example: ``[{"name": "ReLU", "max_rel_error": 3e-12, "passed": True}]`` -> three lines,
    ``layer or loss  max rel. error  (float64, pass <= 1e-07)``, ``ReLU ... 3.00e-12  pass``
    and ``1 passed, 0 failed``.
    """
    width = max([len(r["name"]) for r in rows] + [len("layer or loss")])
    lines = [f"{'layer or loss':<{width}}  max rel. error  (float64, pass <= {tolerance:g})"]
    for r in rows:
        verdict = "pass" if r["passed"] else "FAIL"
        lines.append(f"{r['name']:<{width}}  {r['max_rel_error']:>14.2e}  {verdict}")
    passed = sum(bool(r["passed"]) for r in rows)
    lines.append(f"{passed} passed, {len(rows) - passed} failed")
    return "\n".join(lines)
