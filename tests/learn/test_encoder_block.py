import pytest

from dlf.learn.grader import solution_variant
from dlf.learn.module3.encoder_block import ENCODER_VARIANTS, SOLUTION

from .helpers import grade_text, plant, planted_test

NAME = "encoder-block"
POST_ATTN = "        x = self.norm_1(x + self.dropout(self.self_attn(x, x, x, mask)))\n"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "x = self.norm_1(x + self.dropout(",
        "x = self.norm_1(self.dropout(",
        "the residual connection around self-attention is missing",
    ),
    (
        "return self.norm_2(x + self.dropout(self.feed_forward(x)))",
        "return self.norm_2(self.dropout(self.feed_forward(x)))",
        "the residual connection around the feed-forward network is missing",
    ),
    ("if self.norm_first:", "if not self.norm_first:", "norm placed as in pre-norm"),
    ("self.self_attn(x, x, x, mask)", "self.self_attn(x, x, x)", "the mask is not passed"),
    ("x = x + self.dropout(self.self_attn(h,", "x = h + self.dropout(self.self_attn(h,", "raw x"),
    (
        "return x + self.dropout(self.feed_forward(h))",
        "return x + self.feed_forward(h)",
        "self.dropout is not applied",
    ),
    (
        POST_ATTN,
        "        x += self.dropout(self.self_attn(x, x, x, mask))\n        x = self.norm_1(x)\n",
        "an in-place operation",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


@pytest.mark.parametrize(("message", "edits"), ENCODER_VARIANTS)
def test_every_known_mistake_applies_to_the_solution(message, edits):
    assert solution_variant(SOLUTION, edits)["EncoderLayer"].forward


def test_calling_dlfs_residual_does_not_pass(tmp_path):
    text = plant(
        NAME,
        "return self.norm_2(x + self.dropout(self.feed_forward(x)))",
        "return dlf.transformer.blocks.residual(x, self.feed_forward, self.norm_2, "
        "self.dropout, False)",
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert [c.what for c in failing] == ["the sub-layer connections are your own code"]
    assert "calls dlf's residual" in failing[0].detail


def test_a_padding_leak_is_shown_by_changing_padded_positions(tmp_path):
    grade = grade_text(NAME, plant(NAME, *PLANTED[3][:2]), tmp_path)
    leaks = [c for c in grade.checks if not c.passed and "padded positions" in c.what]
    assert leaks and "the mask is not passed" in leaks[0].diagnosis
