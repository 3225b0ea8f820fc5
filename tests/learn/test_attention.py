import pytest

from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "attention"
SOFTMAX = "softmax(scores, axis=-1, mask=mask)"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("-2) / math.sqrt(q.shape[-1])", "-2)", "the 1/sqrt(d_k) scale is missing"),
    (
        SOFTMAX,
        "softmax(scores, axis=-1) * (1 if mask is None else mask)",
        "the mask is applied after the softmax",
    ),
    (SOFTMAX, "softmax(scores, axis=-1, mask=None if mask is None else ~mask)", "mask is inverted"),
    (SOFTMAX, "softmax(scores, axis=-2, mask=mask)", "the softmax is over the wrong axis"),
    ("q @ np.swapaxes(k, -1, -2) /", "q @ k /", "K is not transposed"),
    (
        "softmax_backward(weights, d_weights, axis=-1)",
        "(weights * d_weights)",
        "the softmax backward lacks its second term",
    ),
    ("scale = 1.0 / math.sqrt(q.shape[-1])", "scale = 1.0", "off by a factor sqrt(d_k) = 2"),
    ("dv = np.swapaxes(weights, -1, -2) @ dout", "dv = weights @ dout", "A is transposed"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_loop_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    dq = d_scores @ k\n",
        "    rows = [d_scores[..., i : i + 1, :] @ k for i in range(q.shape[-2])]\n"
        "    dq = np.concatenate(rows, axis=-2)\n",
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["scaled_dot_product_attention_backward is vectorised (no Python loop)"]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_fully_masked_row_that_gives_nan_is_named(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "    weights = softmax(scores, axis=-1, mask=mask)\n",
        "    if mask is not None:\n"
        "        scores = np.where(mask, scores, -np.inf)\n"
        "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
        "    weights = e / e.sum(axis=-1, keepdims=True)\n",
    )
    grade = grade_text(NAME, text, tmp_path)
    said = {c.diagnosis for c in grade.checks if not c.passed}
    assert any("a row with every key masked gives NaN" in s for s in said), said
