from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "linear-layer"
DB = 'np.sum(d2, axis=0, out=self.grads["b"])'

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ('            y += self.params["b"]\n', "            pass\n", "forgot the bias"),
    ("np.matmul(x2.T, d2, out=gW)", "gW[...] = d2.T @ x2", "not dout^T x"),
    ('return dout @ self.params["W"].T', 'return dout @ self.params["W"]', "W is transposed"),
    (DB, 'self.grads["b"] = d2', "db is not summed over the batch"),
    (DB, 'self.grads["b"] = d2.sum(axis=0)', 'self.grads["b"] = ... replaced the array'),
    (DB, 'np.mean(d2, axis=0, out=self.grads["b"])', "not their mean"),
    ("np.matmul(x2.T, d2, out=gW)", "gW += x2.T @ d2", "were added up (+=)"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_rebound_gradient_fails_only_the_in_place_check(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "np.matmul(x2.T, d2, out=gW)", 'self.grads["W"] = x2.T @ d2'
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = {c.what for c in grade.checks if not c.passed}
    assert failing == {'backward writes into the array of grads["W"]'}
