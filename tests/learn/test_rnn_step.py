from .helpers import planted_test

NAME = "rnn-step"
DA = "da = dnext_h * (1 - next_h**2)\n    dx"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (DA, "da = dnext_h\n    dx", "the tanh derivative is missing"),
    (
        DA,
        "a = np.arctanh(next_h)  # the pre-activation\n    da = dnext_h * (1 - a**2)\n    dx",
        "not 1 - a**2 of the pre-activation a",
    ),
    (DA, "da = dnext_h * (1 - np.tanh(next_h) ** 2)\n    dx", "tanh applied twice"),
    ("dprev_h = da @ Wh.T", "dprev_h = da @ Wh", "Wh is transposed: dprev_h = da Wh^T"),
    ("db = da.sum(axis=0)", "db = da", "db is not summed over the batch"),
    ("db = da.sum(axis=0)", "db = da.mean(axis=0)", "not its mean"),
    ("dWh = prev_h.T @ da", "dWh = da.T @ prev_h", "not da^T prev_h"),
    ("np.tanh(x @ Wx + prev_h @ Wh + b)", "x @ Wx + prev_h @ Wh + b", "the tanh is missing"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)
