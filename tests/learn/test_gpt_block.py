from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "gpt-block"
BOTH = (
    "x = residual(x, attend, self.ln_1, self.dropout, norm_first=True)\n"
    "        x = residual(x, self.mlp, self.ln_2, self.dropout, norm_first=True)"
)
ATTN = "x = residual(x, attend, self.ln_1, self.dropout, norm_first=True)"
MLP = "x = residual(x, self.mlp, self.ln_2, self.dropout, norm_first=True)"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (BOTH, BOTH.replace("norm_first=True", "norm_first=False"), "post-norm"),
    (ATTN, "x = attend(self.ln_1(x))", "the attention's residual is missing"),
    (MLP, "x = self.mlp(self.ln_2(x))", "the MLP's residual is missing"),
    (
        BOTH,
        BOTH.replace("self.ln_1", "LN1")
        .replace("self.ln_2", "self.ln_1")
        .replace("LN1", "self.ln_2"),
        "ln_1 and ln_2 swapped",
    ),
    ("y, kv = self.attn(h, kv_cache)", "y, kv = self.attn(h)", "pass kv_cache on"),
    (BOTH, BOTH.replace("self.dropout", "lambda t: t"), "apply self.dropout"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_block_written_without_dlfs_residual_helper_passes(tmp_path):
    stub = get_exercise(NAME).stub
    body = (
        "        y, kv = self.attn(self.ln_1(x), kv_cache)\n"
        "        x = x + self.dropout(y)\n"
        "        x = x + self.dropout(self.mlp(self.ln_2(x)))\n"
        "        return x, kv\n"
    )
    grade = grade_text(NAME, stub.replace("        raise NotImplementedError\n", body), tmp_path)
    assert grade.state == "passed", grade.lines()
