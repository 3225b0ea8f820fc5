from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "causal-mask"
BODY = "dtype=torch.bool, device=device).tril(diagonal=S - L)"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (BODY, BODY.replace("S - L", "S - L - 1"), "a token must see itself"),
    (BODY, BODY.replace("S - L", "S - L + 1"), "query i sees key i + 1"),
    (BODY, BODY.replace("S - L", "0"), "aligned to the top-left"),
    ("return torch.ones(", "return ~torch.ones(", "True and False swapped"),
    ("dtype=torch.bool, ", "", "takes a boolean mask"),
    ("S = L if S is None else S", "S = L", "S is ignored"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_handing_it_to_dlfs_causal_mask_does_not_pass(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "import torch\n", "import torch\nfrom dlf.transformer.attention import causal_mask as m\n"
    )
    text = text.replace("    S = L if S is None else S\n", "    return m(L, S, device)\n")
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["your own code (not dlf's)"]
