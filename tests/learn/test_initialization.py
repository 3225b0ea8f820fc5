from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "initialization"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("std=np.sqrt(2.0 / fan_in)", "std=2.0 / fan_in", "the variance used as the std"),
    ("std=np.sqrt(2.0 / fan_in)", "std=np.sqrt(2.0 / fan_out)", "He with fan_out"),
    ("np.sqrt(2.0 / (fan_in + fan_out))", "np.sqrt(1.0 / fan_in)", "Xavier with fan_in only"),
    (
        "    return small_normal((fan_in, fan_out), std=std, rng=rng, dtype=dtype)",
        "    a = np.sqrt(3) * std\n"
        "    rng = rng or np.random.default_rng()\n"
        "    return rng.uniform(-a, a, (fan_in, fan_out)).astype(dtype)",
        "uniform entries",
    ),
    ("fan_in), rng=rng,", "fan_in), rng=None,", "draw from the rng argument"),
    ("std=std, rng=rng, dtype=dtype)", "std=std, rng=rng)", "return the array .astype(dtype)"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_another_way_of_drawing_passes(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    return small_normal((fan_in, fan_out), std=std, rng=rng, dtype=dtype)",
        "    rng = np.random.default_rng() if rng is None else rng\n"
        "    return rng.normal(0.0, std, size=(fan_in, fan_out)).astype(dtype)",
    )
    grade = grade_text(NAME, text, tmp_path)
    assert grade.state == "passed", grade.lines()
