from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "receptive-field"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("r = r + (kernel - 1) * j", "r = r + (kernel - 1)", "the jump is not accumulated"),
    (
        "        r = r + (kernel - 1) * j\n        j = j * stride",
        "        j = j * stride\n        r = r + (kernel - 1) * j",
        "the jump is updated before the field",
    ),
    ("r = r + (kernel - 1) * j", "r = r * stride + (kernel - 1) * j", "the stride is multiplied"),
    ("r = r + (kernel - 1) * j", "r = (r + (kernel - 1) * j) * stride", "the stride is multiplied"),
    ("j = j * stride", "j = stride", "j_out = j_in * s, the product of all strides"),
    ("r, j = 1, 1", "r, j = 0, 1", "the walk starts from r = 0"),
    ("(kernel - 1) * j", "(kernel - 1 + 2 * _padding) * j", "the padding is counted"),
    ("return fields", "return (r, j)", "return the (r, j) pair after EVERY layer"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_the_empty_stack_must_give_an_empty_list(tmp_path):
    text = get_exercise(NAME).solution.replace("fields = []", "fields = [(1, 1)]")
    grade = grade_text(NAME, text, tmp_path)
    assert any(not c.passed and "expected []" in c.detail for c in grade.checks)
