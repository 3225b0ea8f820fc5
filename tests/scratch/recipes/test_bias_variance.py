"""The bias-variance recipe: the decomposition helpers, and the U-curve of its quick setting."""

from __future__ import annotations

import numpy as np
import pytest

from dlf.recipes import get_recipe, run_recipe
from dlf.scratch.recipes.bias_variance import (
    RECIPE,
    bias_variance_decomposition,
    fit_polynomials,
)
from tests.report_checks import check_self_contained


def test_registered():
    assert get_recipe("bias-variance") is RECIPE


def test_decomposition_worked_example():
    out = bias_variance_decomposition(
        np.array([[0.0, 2.0], [2.0, 0.0]]), np.array([1.0, 1.0]), np.ones((2, 2)), 0.0
    )
    assert out["bias2"] == 0.0 and out["variance"] == 1.0 and out["error"] == 1.0


@pytest.mark.parametrize("shape", [(5, 7), (50, 3), (2, 100)])
def test_bias2_plus_variance_is_the_mean_squared_distance_to_f(shape):
    rng = np.random.default_rng(sum(shape))
    preds, f = rng.standard_normal(shape), rng.standard_normal(shape[1])
    out = bias_variance_decomposition(preds, f, f + rng.standard_normal(shape), 1.0)
    assert out["bias2"] + out["variance"] == pytest.approx(np.mean((preds - f) ** 2), rel=1e-12)
    assert out["predicted"] == pytest.approx(out["bias2"] + out["variance"] + 1.0)


def test_noise_enters_the_error_within_its_standard_error():
    rng = np.random.default_rng(0)
    preds, f = rng.standard_normal((400, 50)), np.sin(np.linspace(0, 3, 50))
    out = bias_variance_decomposition(preds, f, f + 0.5 * rng.standard_normal((400, 50)), 0.25)
    assert abs(out["error"] - out["predicted"]) < 4 * out["stderr"]


@pytest.mark.parametrize("degree", [0, 1, 3, 6])
def test_polynomial_fit_matches_numpy_least_squares(degree):
    rng = np.random.default_rng(degree)
    x, y = rng.uniform(0, 1, (3, 20)), rng.standard_normal((3, 20))
    x_test = np.linspace(0, 1, 11)
    ours = fit_polynomials(x, y, x_test, degree, ridge=0.0)
    for r in range(3):
        reference = np.polynomial.Polynomial.fit(x[r], y[r], degree)(x_test)
        np.testing.assert_allclose(ours[r], reference, rtol=1e-7, atol=1e-9)


@pytest.mark.slow
def test_quick_setting(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed"
    assert s["effects"] and all(e["shown"] for e in s["effects"]), s["effects"]
    keys = ("poly_degrees", "poly_bias2", "poly_variance", "poly_error")
    deg, bias2, var, err = (np.array(s[k]) for k in keys)
    assert list(deg) == list(config.degrees)
    # bias^2 falls and variance rises with the degree; the error is a U (lowest inside)
    assert bias2[0] > 5 * bias2[-1] and bias2[0] > bias2[1] > bias2[2]
    assert var[-1] > 20 * var[0]
    assert np.corrcoef(np.argsort(np.argsort(var)), np.arange(len(var)))[0, 1] > 0.7
    assert err[0] > err.min() < err[-1] and 0 < int(np.argmin(err)) < len(err) - 1
    assert (err > s["noise"]).all()
    mlp_bias2, mlp_var = np.array(s["mlp_bias2"]), np.array(s["mlp_variance"])
    assert mlp_bias2[0] > 5 * mlp_bias2[-1]
    assert mlp_var[-1] > mlp_var[0]
    # error = bias^2 + variance + noise, up to Monte-Carlo error
    assert s["decomposition_max_gap_in_stderr"] < 4
    assert check_self_contained(run_dir.path / "report.html") == 4
