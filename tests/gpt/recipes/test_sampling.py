"""The quick setting of ``sampling``: every strategy decodes the prompt and is measured."""

import pytest

from dlf.gpt.recipes.sampling import RECIPE
from dlf.recipes import run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

KEYS = {"distinct_1", "distinct_2", "distinct_3", "char_rep_8", "known_words", "log_prob"}


@pytest.mark.slow
@pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)
def test_quick_run(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["strategies"] == 8
    names = [k for k, v in summary.items() if isinstance(v, dict)]
    assert names[0] == "greedy" and names[-1].startswith("greedy + repetition penalty")
    for name in names:
        figures = summary[name]
        assert set(figures) == KEYS
        assert all(0.0 <= figures[k] <= 1.0 for k in KEYS - {"log_prob"})
        assert figures["log_prob"] < 0.0
    # greedy takes the most probable token at every step: no sampled text scores higher
    assert summary["greedy"]["log_prob"] >= summary["temperature 1.3"]["log_prob"]
    assert summary["gpt_val_loss"] < 3.5  # from ln 65 = 4.17
    # the quick setting shows what it states: each filter keeps its rule, temperature works
    assert summary["effects_shown"] == "4 of 4", summary["effects"]
    assert check_self_contained(run_dir.path / "report.html") == 2
    assert "side by side" in (run_dir.path / "report.html").read_text()


def test_init_from_a_folder_without_a_run_is_refused(tmp_path):
    from dlf.data import DataError
    from dlf.gpt.recipes.small_gpt import load_char_gpt

    with pytest.raises(DataError, match="checkpoint"):
        load_char_gpt(tmp_path)


@pytest.mark.parametrize(
    "rule, token, shown",
    [("greedy", 0, True), ("greedy", 1, False), ("top-k", 1, True), ("top-k", 2, False),
     ("top-p", 1, True), ("top-p", 2, False)],
)  # fmt: skip
def test_the_rule_of_each_filter(rule, token, shown):
    """probabilities 0.5, 0.3, 0.2 with k = 2 and p = 0.7: token 2 is neither among the two
    likeliest nor needed to reach 0.7 (0.5 + 0.3 >= 0.7 already)."""
    import torch

    from dlf.gpt.recipes.sampling import SamplingConfig, obeys

    row = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64).log()
    assert obeys(rule, row, token, SamplingConfig(top_k=2, top_p=0.7)) is shown
