from dlf.learn import get_exercise

from .helpers import assert_caught, grade_text, planted_test

NAME = "causal-self-attention"
ATTEND = "y, _ = scaled_dot_product_attention(q, k, v, mask, self.attn_dropout)"
CACHE = "k = torch.cat([kv_cache[0], k], dim=2)\n            v = torch.cat([kv_cache[1], v], dim=2)"
MASK = "mask = causal_mask(T, S, device=x.device)\n            y, _"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (ATTEND, ATTEND.replace("mask,", "None,"), "no causal mask"),
    (
        "y = y.transpose(1, 2).contiguous().view(B, T, C)",
        "y = y.contiguous().view(B, T, C)",
        "merged without transposing back",
    ),
    ("q, k, v = heads", "k, q, v = heads", "q and k swapped"),
    (ATTEND, ATTEND.replace("(q,", "(q * q.size(-1) ** 0.5,"), "the scores are not scaled"),
    (CACHE, CACHE.replace("[kv_cache[0], k]", "[k, kv_cache[0]]"), "the cache goes first"),
    (
        MASK,
        MASK.replace("causal_mask(T, S, device=x.device)", "torch.ones(T, S).bool().tril()"),
        "the T new queries are the LAST T",
    ),
    ("return self.c_proj(y), (k, v)", "return y, (k, v)", "c_proj is missing"),
    (ATTEND, ATTEND.replace(", self.attn_dropout)", ")"), "pass self.attn_dropout"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_missing_mask_fails_the_causality_check(tmp_path):
    grade = assert_caught(
        NAME, ATTEND, ATTEND.replace("mask,", "None,"), "no causal mask", tmp_path
    )
    causal = [c for c in grade.checks if c.what.startswith("changing token 3")]
    assert len(causal) == 1 and not causal[0].passed
    assert "the future leaks into the past" in causal[0].diagnosis


def test_an_output_cut_off_from_autograd_is_named(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "return self.c_proj(y), (k, v)", "return self.c_proj(y).detach(), (k, v)"
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert [c.what for c in failing] == ["the gradient flows back to x"]


def test_handing_it_to_dlf_does_not_pass(tmp_path):
    stub = get_exercise(NAME).stub
    text = stub.replace(
        "        raise NotImplementedError\n", "        return super().forward(x, kv_cache)\n"
    )
    grade = grade_text(NAME, text, tmp_path)
    assert [c.what for c in grade.checks if not c.passed] == ["your own code (not dlf's)"]
