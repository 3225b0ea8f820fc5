import importlib
import pkgutil

import numpy as np
import pytest

import dlf.scratch
from dlf.scratch import (
    GPT,
    Layer,
    Linear,
    NamedLayers,
    check_layer,
    gradcheck_table,
    numerical_gradient,
    relative_error,
)
from dlf.scratch.gradcheck import layer_cases


def test_numerical_gradient_of_known_function_and_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    g = numerical_gradient(lambda v: float(np.sum(v**3)), x)
    np.testing.assert_allclose(g, 3 * before**2, rtol=1e-9)
    np.testing.assert_array_equal(x, before)


def test_relative_error_is_normwise():
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-9])) == pytest.approx(5e-10)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    with pytest.raises(ValueError, match="differ"):
        relative_error(np.zeros(2), np.zeros(3))


class _WrongLinear(Linear):
    """A planted bug: the bias gradient is off by a factor of 2."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] *= 2
        return dx


def test_check_layer_catches_a_wrong_backward():
    rng = np.random.default_rng(0)
    errors = check_layer(_WrongLinear(4, 3, rng=rng), rng.standard_normal((5, 4)))
    assert errors["x"] <= 1e-7 and errors["W"] <= 1e-7
    assert errors["b"] > 0.1


def test_check_layer_catches_a_wrong_input_gradient():
    class Square(Layer):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dout):
            return dout * self.x  # should be 2 * x

    errors = check_layer(Square(), np.random.default_rng(0).standard_normal((3, 3)))
    assert errors["x"] > 0.1


def test_gradcheck_table_every_layer_and_loss_passes():
    rows = gradcheck_table()
    names = {r["name"].split(" ")[0] for r in rows}
    expected = {
        "Linear",
        "ReLU",
        "LeakyReLU",
        "Sigmoid",
        "Tanh",
        "GELU",
        "Dropout",
        "BatchNorm1d",
        "LayerNorm",
        "Embedding",
        "Flatten",
        "Conv2d",
        "MaxPool2d",
        "AvgPool2d",
        "GlobalAvgPool2d",
        "BatchNorm2d",
        "MultiHeadSelfAttention",
        "CausalSelfAttention",
        "Sequential",
        "softmax_cross_entropy",
        "svm_loss",
        "mse",
        "l2_penalty",
    }
    assert expected <= names
    failed = [r for r in rows if not r["passed"] or not r["max_rel_error"] <= 1e-7]
    assert not failed, failed
    assert all(set(r) == {"name", "max_rel_error", "passed"} for r in rows)
    assert gradcheck_table() == rows  # deterministic


def _scratch_layer_classes() -> set[type]:
    """Every Layer subclass defined in a module of dlf.scratch (all of them imported first)."""
    for info in pkgutil.walk_packages(dlf.scratch.__path__, "dlf.scratch."):
        importlib.import_module(info.name)
    found, todo = set(), [Layer]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("dlf.scratch."):
                found.add(sub)
    return found


def test_every_scratch_layer_is_in_the_gradcheck_registry():
    checked = {type(case.layer) for case in layer_cases(np.random.default_rng(0))}
    # NamedLayers is a base class; the GPT's backward starts from its own loss (tested against
    # PyTorch in test_gpt.py), its blocks are in the registry; PlantedBugLinear is wrong on
    # purpose (the gradient-check checkpoint shows it caught).
    from dlf.scratch.checkpoints import PlantedBugLinear

    missing = _scratch_layer_classes() - checked - {NamedLayers, GPT, PlantedBugLinear}
    assert not missing, f"add a LayerCase for: {sorted(c.__name__ for c in missing)}"
    assert {"Conv2d", "MaxPool2d", "BatchNorm2d", "MultiHeadSelfAttention"} <= {
        c.__name__ for c in checked
    }
