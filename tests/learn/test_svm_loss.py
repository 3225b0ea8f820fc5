from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "svm-loss"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("loss = loss / N +", "loss = loss +", "forgot to divide by N"),
    ("dW = dW / N + reg * W", "dW = dW / N", "regularisation gradient reg * W is missing"),
    ("dW[:, y[i]] -= X[i]\n", "pass\n", "the correct class gets no gradient"),
    ("ds /= n", "pass", "forgot to divide by N"),
    ("(margins > 0)", "(margins >= 0)", "count only margins > 0"),
    ("0.5 * reg * np.sum(W * W)", "reg * np.sum(W * W)", "not reg * sum(W**2)"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_loop_in_the_vectorised_version_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    ds /= n\n", "    for i in range(n):\n        ds[i] /= n\n"
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["svm_loss is vectorised (no Python loop)"]
