import pytest
import torch

from dlf.learn import get_exercise
from dlf.learn.grader import solution_variant
from dlf.learn.module4.sampling_filters import (
    SOLUTION,
    STUB,
    TOP_K_VARIANTS,
    TOP_P_VARIANTS,
    _top_p_cases,
)

from .helpers import grade_text, planted_test

NAME = "sampling-filters"
REMOVE = "    remove = torch.empty_like(remove_sorted).scatter_(-1, order, remove_sorted)\n"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("return logits / temperature", "return logits * temperature", "multiplied by the temperature"),
    ("values[..., -1:]", "values[..., -1]", "broadcast along its own row"),
    (
        "kth_largest = torch.topk(logits, k, dim=-1)",
        "kth_largest = torch.topk(logits, k + 1, dim=-1)",
        "off by one: k + 1 tokens kept",
    ),
    (
        "logits.masked_fill(logits < kth_largest, NEG_INF)",
        "logits.masked_fill(logits < kth_largest, 0.0)",
        "removed tokens got 0 instead of -inf",
    ),
    (
        "remove_sorted = mass_before >= p",
        "remove_sorted = probs.cumsum(dim=-1) > p",
        "the token that crosses p is dropped",
    ),
    ("descending=True", "descending=False", "sort descending"),
    (
        "probs = torch.softmax(sorted_logits.to(dtype), dim=-1)",
        "probs = sorted_logits.to(dtype)",
        "top-p works on probabilities",
    ),
    (REMOVE, "    remove = remove_sorted\n", "the removal mask is in sorted order"),
    (
        "return logits.masked_fill(remove, NEG_INF)",
        "return logits.masked_fill_(remove, NEG_INF)",
        "an in-place operation on an input",
    ),
]


def test_the_solution_needs_no_import_from_dlf():
    assert "from dlf" not in SOLUTION and "NEG_INF = float(" in STUB  # the stub defines NEG_INF


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


@pytest.mark.parametrize(("message", "edits"), TOP_K_VARIANTS + TOP_P_VARIANTS)
def test_every_known_mistake_applies_to_the_solution(message, edits):
    assert solution_variant(SOLUTION, edits)["top_p_filter"]


def test_no_top_p_case_is_within_rounding_of_p():
    for _, logits, p in _top_p_cases():
        if p < 1:
            mass = torch.sort(torch.softmax(logits, -1), -1, descending=True).values.cumsum(-1)
            assert float((mass - p).abs().min()) > 1e-4


def test_a_list_instead_of_a_tensor_is_named(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "return logits / temperature", "return (logits / temperature).tolist()"
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert failing and all("return a torch tensor" in c.diagnosis for c in failing)
