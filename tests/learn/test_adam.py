import pytest

from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "adam"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "        w /= math.sqrt(1 - b2**t)\n        w += self.eps\n        np.divide(m, w, out=w)\n"
        "        w *= self.lr / (1 - b1**t)\n",
        "        w += self.eps\n        np.divide(m, w, out=w)\n        w *= self.lr\n",
        "no bias correction",
    ),
    (
        "        np.sqrt(v, out=w)\n        w /= math.sqrt(1 - b2**t)\n        w += self.eps\n",
        "        np.divide(v, 1 - b2**t, out=w)\n"
        "        w += self.eps\n"
        "        np.sqrt(w, out=w)\n",
        "eps inside the square root",
    ),
    ("b1, b2 = self.betas", "b2, b1 = self.betas", "beta1 and beta2 swapped"),
    ('t = state["step"]', "t = 1", "t is stuck at 1"),
    ('self.weight_decay, state["tmp"])', '0.0, state["tmp"])', "weight decay ignored"),
    ('m = self._buffer(state, "exp_avg")', "m = np.zeros_like(p)", "m is not kept"),
    ("        p -= w\n", "        p = p - w\n", "write p -= ..."),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


TEXTBOOK = (
    "        b1, b2 = self.betas\n"
    '        t = state["step"]\n'
    "        g = g + self.weight_decay * p\n"
    '        m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g\n'
    '        v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g**2\n'
    "        m_hat = m / (1 - b1**t)\n"
    "        v_hat = v / (1 - b2**t)\n"
    "        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)\n"
)


def _textbook(tmp_path, old="", new=""):
    body = TEXTBOOK.replace(old, new)
    text = get_exercise(NAME).stub.replace("        raise NotImplementedError\n", body)
    return grade_text(NAME, text, tmp_path)


def test_the_textbook_form_passes(tmp_path):
    grade = _textbook(tmp_path)
    assert grade.state == "passed", grade.lines()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the learner divides by zero
def test_t_from_zero_is_named_a_division_by_zero(tmp_path):
    grade = _textbook(tmp_path, 't = state["step"]', 't = state["step"] - 1')
    said = [c.diagnosis for c in grade.checks if not c.passed]
    assert any("a division by zero" in s for s in said), said
