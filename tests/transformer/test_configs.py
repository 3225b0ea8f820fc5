"""The named Transformer shapes: the paper's two, and the project's own equal to its recipe's."""

from __future__ import annotations

from dlf.data.sequences import make_task
from dlf.transformer.configs import PAPER_PARAMETERS, transformer_architecture, transformer_config
from dlf.transformer.model import base_parameter_count
from dlf.transformer.recipes.transformer_copy import TransformerCopyConfig


def test_transformer_copy_is_the_recipe_s_model():
    named, c = transformer_config("transformer-copy"), TransformerCopyConfig()
    task = make_task("copy", 4, 4, c.min_len, c.max_len, c.long_len, 0)
    assert (named.d_model, named.n_heads, named.d_ff, named.norm_first) == (
        c.d_model, c.n_heads, c.d_ff, c.norm_first
    )  # fmt: skip
    assert named.n_encoder_layers == named.n_decoder_layers == c.n_layers
    assert named.vocab_size == len(task.vocab) and named.max_len == 2 * c.long_len + 8


def test_base_count_is_the_one_the_model_module_explains():
    arch, line = transformer_architecture("transformer-base", tokens=4)
    count, _ = base_parameter_count()
    assert arch.parameters == count and f"{count:,} parameters" in line
    assert "the paper (Table 3): 65 M" in line


def test_big_is_within_one_percent_of_the_paper_s_213_m():
    arch, _ = transformer_architecture("transformer-big", tokens=4)
    # the paper rounds, and its vocabulary is "about 37000": agreement to 1% is what it allows
    assert abs(arch.parameters / PAPER_PARAMETERS["transformer-big"] - 1) < 0.01
