from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "perceptron"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "    delta[rows, y[wrong]] = lr\n    delta[rows, pred[wrong]] = -lr\n",
        "    delta[np.arange(len(X)), y] = lr\n    delta[np.arange(len(X)), pred] = -lr\n",
        "updated every sample, not only the mistakes",
    ),
    ("    b += delta.sum(axis=0)\n", "", "the bias update was forgotten"),
    (
        "    W += X.T @ delta\n    b += delta.sum(axis=0)\n",
        "    W -= X.T @ delta\n    b -= delta.sum(axis=0)\n",
        "the sign is flipped: pushed the true class down",
    ),
    ("    W += X.T @ delta\n", "    W = W + X.T @ delta\n", "W did not change: update it in place"),
    ("    b += delta.sum(axis=0)\n", "    b += delta.sum(axis=0) / lr\n", "the bias moves by lr"),
    ("(X @ W + b).argmax(axis=1)", "(X @ W).argmax(axis=1)", "the predictions ignore the bias"),
]

ONLINE = """
    mistakes = 0
    for i in range(len(X)):
        p = np.argmax(X[i] @ W + b)
        if p != y[i]:
            W[:, y[i]] += lr * X[i]
            W[:, p] -= lr * X[i]
            b[y[i]] += lr
            b[p] -= lr
            mistakes += 1
    return mistakes
"""


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_updating_after_each_sample_is_named(tmp_path):
    solution = get_exercise(NAME).solution
    text = solution[: solution.index("    pred = (X @ W + b)")] + ONLINE.lstrip("\n")
    grade = grade_text(NAME, text, tmp_path)
    assert grade.state == "failing"
    assert any("updated W after each sample" in c.diagnosis for c in grade.checks)
