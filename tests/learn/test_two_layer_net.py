from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "two-layer-net"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ('"W2": h.T @ dscores + reg * W2', '"W2": h.T @ dscores', "reg * W2 is missing on dW2"),
    ('grads["W1"] = X.T @ dh + reg * W1', 'grads["W1"] = X.T @ dh', "reg * W1 is missing on dW1"),
    ("    dh[pre <= 0] = 0\n", "", "the ReLU's backward is missing"),
    ("    dscores /= N\n", "", "forgot to divide by N"),
    (
        '"b2": dscores.sum(axis=0)',
        '"b2": dscores.sum(axis=0) + reg * b2',
        "the biases were regularised too",
    ),
    (
        "loss = data_loss + 0.5 * reg * (",
        "loss = data_loss + reg * (",
        "the penalty is reg/2 * sum(W**2)",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_wrong_gradient_alone_fails_its_gradient_check(tmp_path):
    text = get_exercise(NAME).solution.replace('"b2": dscores.sum(axis=0)', '"b2": dscores[0]')
    grade = grade_text(NAME, text, tmp_path)
    failing = {c.what for c in grade.checks if not c.passed}
    assert 'grads["b2"] (gradient check)' in failing
    assert 'grads["W1"] (gradient check)' not in failing
