from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "knn-distances"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("    np.maximum(D, 0, out=D)\n", "", "clip with np.maximum(D, 0)"),
    ("    return D\n", "    return np.sqrt(D)\n", "returned L2 distances (a square root)"),
    ("    return D\n", "    return D.T\n", "the result is transposed"),
    ("    D *= -2\n", "    D *= 2\n", "the cross term is -2 A B^T: its sign is flipped"),
    ("    D *= -2\n", "    D *= -1\n", "the factor 2 is missing"),
    (
        "return counts.argmax(axis=1)",
        "return counts.shape[1] - 1 - counts[:, ::-1].argmax(axis=1)",
        "a tie went to the largest label",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_loop_in_the_distances_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    D = A @ B.T\n", "    D = np.array([[a @ b for b in B] for a in A])\n"
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["pairwise_sq_distances is vectorised (no Python loop)"]


def test_a_loop_over_rows_in_the_vote_is_allowed(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    return counts.argmax(axis=1)",
        "    return np.array([np.bincount(r, minlength=n_classes).argmax() "
        "for r in neighbour_labels])",
    )
    assert grade_text(NAME, text, tmp_path).state == "passed"
