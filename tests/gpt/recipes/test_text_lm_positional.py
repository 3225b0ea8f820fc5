"""``positional=NAME`` in the text recipes: any registered encoding trains, an unknown one is a
one-line exit 2, and a learner's workspace attention is not asked for RoPE."""

import pytest

from dlf.cli import main
from dlf.gpt.model import GPTConfig
from dlf.gpt.recipes.gpt_shakespeare_char import RECIPE
from dlf.gpt.recipes.text_lm import CONFIG_MAP, check_settings
from dlf.gpt.trained import load_trained
from dlf.recipes import ConfigError, run_recipe
from dlf.transformer.positional import POSITIONAL_ENCODINGS
from tests.conftest import data_available


@pytest.mark.parametrize("name", list(POSITIONAL_ENCODINGS))
def test_positional_reaches_the_gpt(name):
    config = RECIPE.make_config(quick=True, overrides={"positional": name})
    assert CONFIG_MAP.build(GPTConfig, config, vocab_size=65).positional == name


@pytest.mark.parametrize(
    ("pairs", "said"),
    [(["positional=alibi"], "positional must be one of"),
     (["positional=rope", "n_embd=96", "n_head=32"], "head dimension must be even")],
)  # fmt: skip
def test_a_bad_encoding_is_one_line_exit_2_and_no_folder(tmp_path, capsys, pairs, said):
    runs = tmp_path / "runs"
    status = main(["run", "gpt-shakespeare-char", "--quick", *pairs, "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and said in err
    assert not runs.exists()


def test_a_workspace_attention_is_not_asked_for_rope(tmp_path):
    overrides = {"workspace": str(tmp_path), "positional": "rope"}
    with pytest.raises(ConfigError, match="learner's attention.*none, sinusoidal, learned"):
        check_settings(RECIPE.make_config(quick=True, overrides=overrides))
    overrides["positional"] = "sinusoidal"
    check_settings(RECIPE.make_config(quick=True, overrides=overrides))


@pytest.mark.slow
@pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)
def test_quick_run_with_rope(tmp_path):
    config = RECIPE.make_config(quick=True, overrides={"positional": "rope"})
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed" and summary["steps"] == 60
    assert summary["val_loss"] < 3.0  # from ln 65 = 4.17 at the start
    trained = load_trained(run_dir.path)
    assert trained.model.config.positional == "rope"
    assert "transformer.wpe.weight" not in trained.model.state_dict()
