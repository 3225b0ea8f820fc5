from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "positional-encoding"
SIN_COS = "table[:, 0::2] = np.sin(angles)\n    table[:, 1::2] = np.cos(angles)"
ANGLES = "angles = positions / base ** (np.arange(0, d_model, 2) / d_model)"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        SIN_COS,
        "table[:, 0::2] = np.cos(angles)\n    table[:, 1::2] = np.sin(angles)",
        "sin and cos are swapped",
    ),
    (
        ANGLES + "\n    table = np.empty((n_positions, d_model))\n    " + SIN_COS,
        "j = np.arange(d_model)\n"
        "    angles = positions / base ** (j / d_model)\n"
        "    table = np.where(j % 2 == 0, np.sin(angles), np.cos(angles))",
        "the exponent uses the column index j",
    ),
    (
        SIN_COS,
        "table[:, : d_model // 2] = np.sin(angles)\n    table[:, d_model // 2 :] = np.cos(angles)",
        "the sines and cosines are in two halves",
    ),
    ("positions / base **", "positions * base **", "the wrong sign in its exponent"),
    ("np.arange(0, d_model, 2) / d_model", "np.arange(d_model // 2) / d_model", "factor 2"),
    ("np.arange(0, d_model, 2) / d_model", "np.arange(0, d_model, 2) // d_model", "integer"),
    ("np.arange(n_positions, dtype", "1 + np.arange(n_positions, dtype", "start at 0, not 1"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_loop_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    table[:, 1::2] = np.cos(angles)\n",
        "    for i in range(d_model // 2):\n        table[:, 2 * i + 1] = np.cos(angles[:, i])\n",
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["sinusoidal_table is vectorised (no Python loop)"]
