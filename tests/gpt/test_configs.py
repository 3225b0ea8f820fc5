"""The named GPT shapes: GPT-2's counts, and the project's own equal to their recipes'."""

from __future__ import annotations

import pytest

from dlf.gpt.configs import GPT2_PARAMETERS, GPT_CONFIGS, gpt2_parameters, gpt_config
from dlf.gpt.recipes.gpt_shakespeare_bpe import GptShakespeareBpeConfig
from dlf.gpt.recipes.text_lm import TextLMConfig

SHAPE = ("n_layer", "n_head", "n_embd", "block_size")


@pytest.mark.parametrize(
    "name,recipe_config", [("gpt-shakespeare-char", TextLMConfig), ("gpt-shakespeare-bpe",
                                                                      GptShakespeareBpeConfig)]
)  # fmt: skip
def test_own_shapes_are_the_recipes_defaults(name, recipe_config):
    named, defaults = gpt_config(name), recipe_config()
    assert [getattr(named, k) for k in SHAPE] == [getattr(defaults, k) for k in SHAPE]
    if defaults.tokenizer == "bpe":
        assert named.vocab_size == defaults.vocab_size


@pytest.mark.parametrize(
    "n_layer,n_embd,count",
    [(12, 768, 124_439_808), (24, 1024, 354_823_168), (36, 1280, 774_030_080),
     (48, 1600, 1_557_611_200)],
)  # fmt: skip
def test_the_formula_gives_the_released_counts(n_layer, n_embd, count):
    assert gpt2_parameters(n_layer, n_embd) == count


def test_every_gpt2_size_has_its_reference_and_a_fresh_copy_each_time():
    assert set(GPT2_PARAMETERS) <= set(GPT_CONFIGS)
    first = gpt_config("gpt2")
    first.n_layer = 1
    assert gpt_config("gpt2").n_layer == 12
