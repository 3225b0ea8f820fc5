"""One way from a recipe's flat config to the library's configs: every field reaches a library
config by its name or is declared the recipe's own, and a renamed library field breaks loudly."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from dlf.gpt.train import TrainConfig
from dlf.recipes.config import ConfigMap, field_names, take_fields

RECIPE_MAPS = [
    "dlf.gpt.recipes.text_lm:CONFIG_MAP",
    "dlf.gpt.recipes.numpy_gpt:CONFIG_MAP",
    "dlf.gpt.recipes.numpy_gpt:TEXT_MAP",
    "dlf.gpt.recipes.sampling:CONFIG_MAP",
    "dlf.gpt.recipes.masked_lm:CONFIG_MAP",
    "dlf.gpt.recipes.masked_lm:MLM_MAP",
    "dlf.gpt.train_ddp:CONFIG_MAP",
    "dlf.cnn.recipes.cnn_mnist:CONFIG_MAP",
    "dlf.cnn.recipes.cnn_fashion:CONFIG_MAP",
    "dlf.cnn.recipes.batchnorm:CONFIG_MAP",
    "dlf.cnn.recipes.resnet_depth:CONFIG_MAP",
    "dlf.cnn.recipes.architectures:CONFIG_MAP",
    "dlf.cnn.recipes.transfer:CONFIG_MAP",
]


def load_map(where: str) -> ConfigMap:
    module, name = where.split(":")
    return getattr(importlib.import_module(module), name)


def renamed(cls: type, old: str, new: str) -> type:
    """A copy of dataclass ``cls`` whose field ``old`` is called ``new`` (a library rename)."""
    fields = [
        (new if f.name == old else f.name, f.type, dataclasses.field(default=f.default))
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(cls.__name__, fields)


@pytest.mark.parametrize("where", RECIPE_MAPS)
def test_renaming_a_library_field_stops_every_recipe_that_uses_it(where):
    """Each field the recipe passes to a library config, renamed there, stops the recipe."""
    config_map = load_map(where)
    passed = [
        (library, name)
        for library in config_map.targets
        for name in field_names(library) & field_names(config_map.flat)
    ]
    assert passed, f"{where} passes nothing to its library configs"
    for library, old in passed:
        targets = tuple(
            renamed(t, old, old + "_renamed") if t is library else t for t in config_map.targets
        )
        with pytest.raises(TypeError, match=rf"\['{old}'\] match no field of"):
            ConfigMap(config_map.flat, targets, config_map.own)


@pytest.mark.parametrize("where", RECIPE_MAPS)
def test_every_field_of_a_recipe_reaches_a_target_or_is_its_own(where):
    config_map = load_map(where)
    flat = config_map.flat()
    reached = set(config_map.own)
    for target in config_map.targets:
        try:
            built = config_map.build(target, flat)
        except (TypeError, ValueError):  # a target that needs a fixed value (vocab_size ...)
            continue
        for f in dataclasses.fields(target):
            if hasattr(flat, f.name):
                assert getattr(built, f.name) == getattr(flat, f.name), (target, f.name)
                reached.add(f.name)
    assert reached >= {f.name for f in dataclasses.fields(config_map.flat)} - {"vocab_size"}


def test_an_own_name_that_is_not_a_field_or_shadows_one_is_refused():
    @dataclasses.dataclass
    class Flat:
        learning_rate: float = 0.1
        prompt: str = ""

    assert (
        ConfigMap(Flat, (TrainConfig,), own={"prompt"}).build(TrainConfig, Flat()).learning_rate
        == 0.1
    )
    with pytest.raises(TypeError, match=r"\['prompt'\] match no field"):
        ConfigMap(Flat, (TrainConfig,))
    with pytest.raises(TypeError, match=r"own names \['promt'\] are not its fields"):
        ConfigMap(Flat, (TrainConfig,), own={"prompt", "promt"})
    with pytest.raises(TypeError, match=r"own names \['learning_rate'\] are fields of"):
        ConfigMap(Flat, (TrainConfig,), own={"prompt", "learning_rate"})


def test_take_fields_takes_the_same_names_then_the_fixed_values():
    class Recipe:
        max_steps, seed, width = 5, 3, 64

    config = take_fields(TrainConfig, Recipe(), seed=9)
    assert (config.max_steps, config.seed, config.batch_size) == (5, 9, TrainConfig().batch_size)
