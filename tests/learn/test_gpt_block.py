from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "gpt-block"
ATTN = "x = x + self.dropout(y)"
MLP = "x = x + self.dropout(self.mlp(self.ln_2(x)))"
BOTH = f"y, kv = self.attn(self.ln_1(x), kv_cache)\n        {ATTN}\n        {MLP}"
POST_NORM = (
    "y, kv = self.attn(x, kv_cache)\n"
    "        x = self.ln_1(x + self.dropout(y))\n"
    "        x = self.ln_2(x + self.dropout(self.mlp(x)))"
)

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (BOTH, POST_NORM, "post-norm"),
    (ATTN, "x = self.dropout(y)", "the attention's residual is missing"),
    (MLP, "x = self.dropout(self.mlp(self.ln_2(x)))", "the MLP's residual is missing"),
    (
        BOTH,
        BOTH.replace("self.ln_1", "LN1")
        .replace("self.ln_2", "self.ln_1")
        .replace("LN1", "self.ln_2"),
        "ln_1 and ln_2 swapped",
    ),
    ("self.attn(self.ln_1(x), kv_cache)", "self.attn(self.ln_1(x))", "pass kv_cache on"),
    (BOTH, BOTH.replace("self.dropout", "(lambda t: t)"), "apply self.dropout"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_block_written_another_way_passes(tmp_path):
    stub = get_exercise(NAME).stub
    body = (
        "        h, kv = self.attn(self.ln_1(x), kv_cache)\n"
        "        h = x + self.dropout(h)\n"
        "        return h + self.dropout(self.mlp(self.ln_2(h))), kv\n"
    )
    grade = grade_text(NAME, stub.replace("        raise NotImplementedError\n", body), tmp_path)
    assert grade.state == "passed", grade.lines()
