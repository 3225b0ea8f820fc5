"""Recipe.make_config: full, quick, named settings and overrides, in that order."""

import dataclasses

import pytest

from dlf.recipes import CATALOG, ConfigError, get_recipe
from tests.toy_recipe import RECIPE


def test_layers_apply_in_order():
    assert RECIPE.make_config().steps == 20
    assert RECIPE.make_config(quick=True).steps == 3
    config = RECIPE.make_config(setting="fast", overrides={"lr": "0.25"})
    assert (config.steps, config.lr) == (5, 0.25)


def test_unknown_setting_and_quick_with_setting_are_refused():
    with pytest.raises(ConfigError, match="its settings: fast"):
        RECIPE.make_config(setting="slow")
    with pytest.raises(ConfigError, match="not both"):
        RECIPE.make_config(quick=True, setting="fast")


@pytest.mark.parametrize(
    ("name", "setting"),
    [(n, s) for n in sorted(CATALOG) for s in get_recipe(n).settings],
)
def test_every_named_setting_of_the_catalog_is_a_valid_config(name, setting):
    recipe = get_recipe(name)
    config = recipe.make_config(setting=setting)
    for key, value in recipe.settings[setting].items():
        assert getattr(config, key) == value
    assert dataclasses.is_dataclass(config)
