from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "gradient-check"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "x[i] = old - h\n        f_minus = f(x)\n        x[i] = old\n"
        "        grad[i] = (f_plus - f_minus) / (2 * h)",
        "x[i] = old\n        f_minus = f(x)\n        grad[i] = (f_plus - f_minus) / h",
        "a forward difference",
    ),
    ("/ (2 * h)", "/ h", "forgot to divide by 2h"),
    ("/ (2 * h)", "/ 2 * h", "write / (2 * h)"),
    ("        x[i] = old\n        grad", "        grad", "an entry is left perturbed"),
    (
        "float(np.max(np.abs(a - b))) / scale",
        "float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), _TINY)))",
        "an element-wise relative error",
    ),
    (
        "max(float(np.max(np.abs(a) + np.abs(b))), _TINY)",
        "max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), _TINY)",
        "not max(max|a|, max|b|)",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_perturbing_a_copy_of_x_is_caught(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    grad = np.zeros_like(x)\n", "    grad = np.zeros_like(x)\n    x = x.copy()\n"
    )
    grade = grade_text(NAME, text, tmp_path)
    said = [c.diagnosis for c in grade.checks if not c.passed]
    assert any("perturb x itself in place" in s for s in said), said


def test_rounding_when_restoring_x_is_named(tmp_path):
    text = get_exercise(NAME).solution
    for old, new in [("= old + h", "+= h"), ("= old - h", "-= 2 * h"), ("= old\n", "+= h\n")]:
        assert text.count(old) == 1
        text = text.replace(old, new)
    grade = grade_text(NAME, text, tmp_path)
    said = [c.diagnosis for c in grade.checks if not c.passed]
    assert any("is not exactly x[i] in floating point" in s for s in said), said
