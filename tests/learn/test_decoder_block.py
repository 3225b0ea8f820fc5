import pytest

from dlf.learn.grader import solution_variant
from dlf.learn.module3.decoder_block import DECODER_VARIANTS, SOLUTION

from .helpers import grade_text, plant, planted_test

NAME = "decoder-block"
POST_SELF = "        x = self.norm_1(x + self.dropout(self.self_attn(x, x, x, tgt_mask)))\n"
POST_CROSS = (
    "        x = self.norm_2(x + self.dropout(self.cross_attn(x, memory, memory, src_mask)))\n"
)

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "self.cross_attn(x, memory, memory, src_mask)",
        "self.cross_attn(memory, x, x, src_mask)",
        "queries and keys swapped",
    ),
    ("self.self_attn(x, x, x, tgt_mask)", "self.self_attn(x, x, x)", "does not get tgt_mask"),
    (
        "self.cross_attn(x, memory, memory, src_mask)",
        "self.cross_attn(x, memory, memory)",
        "src_mask is not passed to the cross-attention",
    ),
    (POST_SELF + POST_CROSS, POST_CROSS + POST_SELF, "the sub-layers are in the wrong order"),
    (
        "x = x + self.dropout(self.cross_attn(h,",
        "x = self.dropout(self.cross_attn(h,",
        "the residual connection around cross-attention is missing",
    ),
    (
        POST_SELF + POST_CROSS,
        (POST_SELF + POST_CROSS)
        .replace("tgt_mask", "MASK")
        .replace("src_mask", "tgt_mask")
        .replace("MASK", "src_mask"),
        "src_mask and tgt_mask are swapped",
    ),
    (
        "self.cross_attn(h, memory, memory, src_mask)",
        "self.cross_attn(h, self.norm_2(memory), self.norm_2(memory), src_mask)",
        "memory is used as it is",
    ),
    ("self.norm_3(x + self.dropout(", "self.norm_3(self.dropout(", "around the feed-forward"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


@pytest.mark.parametrize(("message", "edits"), DECODER_VARIANTS)
def test_every_known_mistake_applies_to_the_solution(message, edits):
    assert solution_variant(SOLUTION, edits)["DecoderLayer"].forward


def test_a_layer_that_looks_ahead_fails_the_causality_check(tmp_path):
    grade = grade_text(NAME, plant(NAME, *PLANTED[1][:2]), tmp_path)
    causal = [c for c in grade.checks if not c.passed and c.what.startswith("causality")]
    assert causal and "does not get tgt_mask" in causal[0].diagnosis
    assert "changing x at positions >= 2 moved the outputs at positions < 2" in causal[0].detail


def test_cross_attention_from_memory_with_another_length_is_explained(tmp_path):
    grade = grade_text(NAME, plant(NAME, *PLANTED[0][:2]), tmp_path)
    assert "must match" in grade.error and "the cross-attention's queries are x" in grade.error
