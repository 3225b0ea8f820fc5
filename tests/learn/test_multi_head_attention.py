from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "multi-head-attention"
SPLIT = "return x.reshape(b, t, n_heads, c // n_heads).transpose(0, 2, 1, 3)"
MERGE = "return x.transpose(0, 2, 1, 3).reshape(b, t, h * d)"
D_HEADS = 'd_heads = self.split_heads(self.proj["o"].backward(dout))'

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (SPLIT, "return x.reshape(b, n_heads, t, c // n_heads)", "a reshape alone to (B, h, T, d_k)"),
    (MERGE, "return x.reshape(b, t, h * d)", "a reshape alone mixes the heads"),
    (MERGE, "return x.transpose(0, 2, 3, 1).reshape(b, t, h * d)", "the axes are in the wrong"),
    (
        'return self.proj["o"].forward(self.merge_heads(heads))',
        "return self.merge_heads(heads)",
        "the output projection is missing",
    ),
    (
        "scaled_dot_product_attention(q, k, v, mask)",
        "scaled_dot_product_attention(q, k, v)",
        "the mask is not passed to the attention",
    ),
    (
        'dx = dx + self.proj["k"].backward(self.merge_heads(dk))',
        'dx = self.proj["k"].backward(self.merge_heads(dk))',
        "dx must add the gradients through all three projections",
    ),
    (
        D_HEADS,
        D_HEADS + '\n        self.proj["o"].grads["W"][...] = self.proj["o"].grads["W"].T.copy()',
        "W_o gets x^T dout (in, out) of its projection, not dout^T x",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_handing_backward_to_dlf_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "        q, k, v, weights = self.cache\n",
        "        return super().backward(dout)\n        q, k, v, weights = self.cache\n",
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["your own code (not dlf's)"]
