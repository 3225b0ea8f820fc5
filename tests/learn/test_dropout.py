import pytest

from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "dropout"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (" * x.dtype.type(1.0 / (1.0 - self.p))", "", "not rescaled"),
    ("dtype=np.float32) >= self.p", "dtype=np.float32) < self.p", "p used as the keep probability"),
    (
        "return dout if self.mask is None else dout * self.mask",
        "return dout if self.mask is None else "
        "dout * (self.rng.random(dout.shape) >= self.p) / (1 - self.p)",
        "a new mask drawn in backward",
    ),
    ("if not self.training or self.p == 0.0:", "if self.p == 0.0:", "applied in evaluation mode"),
    ("            return x\n", "            return x * (1 - self.p)\n", "scaled at test time"),
    ("self.rng.random(x.shape, dtype=np.float32)", "np.random.rand(*x.shape)", "from self.rng"),
    ("            self.mask = None\n", "", "used the training mask"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


@pytest.mark.parametrize(
    "draw",
    [
        "self.rng.binomial(1, 1 - self.p, x.shape) > 0",
        "self.rng.uniform(size=x.shape) > self.p",
        "~(self.rng.random(x.shape) < self.p)",
    ],
)
def test_other_masks_pass(draw, tmp_path):
    """Any mask with the right law passes: the checks are statistical, not dlf's own mask."""
    text = get_exercise(NAME).solution.replace(
        "self.rng.random(x.shape, dtype=np.float32) >= self.p", draw
    )
    grade = grade_text(NAME, text, tmp_path)
    assert grade.state == "passed", grade.lines()
