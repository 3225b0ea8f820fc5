from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "sgd-momentum"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("if self.nesterov:", "if False:", "Nesterov computed as plain momentum"),
    ('v = self._buffer(state, "velocity")', "v = np.zeros_like(p)", "velocity is not kept"),
    ("self.weight_decay, tmp)", "0.0, tmp)", "weight decay ignored"),
    (
        "\n        np.multiply(g, self.lr, out=tmp)\n        p -= tmp\n",
        "\n        p = p - self.lr * g\n",
        "write p -= ...",
    ),
    (
        "\n        np.multiply(g, self.lr, out=tmp)\n",
        "\n        np.multiply(g, self.lr * self.lr, out=tmp)\n",
        "lr applied twice",
    ),
    (
        "g = self._decayed_grad(p, g, self.weight_decay, tmp)",
        "g += self.weight_decay * p",
        "g = g + weight_decay * p",
    ),
    ("            v += g\n", "            v += (1 - mu) * g\n", "dampening"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_the_cs231n_form_of_momentum_passes(tmp_path):
    """v <- mu v - lr g; p += v is torch's rule written with -lr * v: the same steps."""
    text = get_exercise(NAME).stub.replace(
        "        raise NotImplementedError\n",
        "        g = g + self.weight_decay * p\n"
        '        v = state.setdefault("v", np.zeros_like(p))\n'
        "        v_prev = v.copy()\n"
        "        v *= self.momentum\n"
        "        v -= self.lr * g\n"
        "        if self.nesterov:\n"
        "            p += -self.momentum * v_prev + (1 + self.momentum) * v\n"
        "        else:\n"
        "            p += v\n",
    )
    grade = grade_text(NAME, text, tmp_path)
    assert grade.state == "passed", grade.lines()
