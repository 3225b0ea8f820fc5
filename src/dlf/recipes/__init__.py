"""Recipes: named, runnable experiments with typed configs and quick/full settings."""

from dlf.recipes.catalog import (
    CATALOG,
    RECIPE_MODULES,
    UnknownRecipe,
    get_recipe,
    recipe_names,
    register,
)
from dlf.recipes.config import (
    ConfigError,
    Range,
    apply_overrides,
    check_ranges,
    convert,
    parse_overrides,
    ranged,
)
from dlf.recipes.recipe import Recipe
from dlf.recipes.runner import run_recipe, sweep, sweep_grid

__all__ = [
    "CATALOG",
    "RECIPE_MODULES",
    "ConfigError",
    "Range",
    "Recipe",
    "UnknownRecipe",
    "apply_overrides",
    "check_ranges",
    "convert",
    "get_recipe",
    "parse_overrides",
    "ranged",
    "recipe_names",
    "register",
    "run_recipe",
    "sweep",
    "sweep_grid",
]
