import pytest

from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "activations"
SIGMOID_FORWARD = "self.out = sigmoid(x).astype(x.dtype, copy=False)"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("self.mask = x > 0", "self.mask = x >= 0", "the mask is x > 0, not x >= 0"),
    (
        "        return dout * self.mask\n",
        "        return self.mask\n",
        "multiply the mask by dout",
    ),
    ("return np.maximum(x, 0)", "return np.max(x, 0)", "use np.maximum(x, 0)"),
    (
        f"{SIGMOID_FORWARD}\n        return self.out\n",
        "self.out = x\n        return sigmoid(x).astype(x.dtype, copy=False)\n",
        "used x instead of the output",
    ),
    (SIGMOID_FORWARD, "self.out = 1 / (1 + np.exp(-x))", "sigmoid overflow"),
    (SIGMOID_FORWARD, "self.out = np.exp(x) / (1 + np.exp(x))", "sigmoid overflow"),
    ("return dout * self.out * (1 - self.out)", "return dout * self.out", "(1 - y) is missing"),
]


OVERFLOWS = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the unstable sigmoids overflow
test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED, OVERFLOWS)


def test_an_overflow_warning_alone_fails(tmp_path):
    """1 / (1 + exp(-x)) gives the right values (exp(1000) = inf, 1 / inf = 0) but warns."""
    grade = grade_text(
        NAME,
        get_exercise(NAME).solution.replace(SIGMOID_FORWARD, "self.out = 1 / (1 + np.exp(-x))"),
        tmp_path,
    )
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["Sigmoid.forward warns of no overflow"]
