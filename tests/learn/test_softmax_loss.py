import pytest

from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "softmax-loss"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("    dz /= n\n", "", "forgot to divide by N"),
    ("    dz[rows, labels] -= 1\n", "", "the -1 at the true label is missing"),
    ("loss = -float(", "loss = float(", "the sign is flipped"),
    ("shifted = z - z.max(axis=1, keepdims=True)", "shifted = z", "overflow: subtract the row"),
    (
        "shifted = z - z.max(axis=1, keepdims=True)",
        "shifted = z - z.max()",
        "subtract EACH ROW's own maximum",
    ),
    ("exp.sum(axis=1, keepdims=True)", "exp.sum(keepdims=True)", "normalised over the whole"),
]


OVERFLOWS = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the unstable versions overflow
test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED, OVERFLOWS)


def test_a_loop_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    dz /= n\n", "    for i in range(n):\n        dz[i] /= n\n"
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["softmax_cross_entropy is vectorised (no Python loop)"]
