"""Where the path's recipes live, in path order; each is imported only when asked for.

A recipe's name is written once, in its module: ``RECIPE = Recipe(name="mnist-mlp", ...)``. The
module's file is named after it (``-`` becomes ``_``: ``mnist_mlp.py``), so the catalog lists
modules only and reads each name from its module path without importing it: ``dlf run
mnist-mlp`` imports that one module (NumPy code only) and ``dlf list`` imports none to name them.
A test checks that every module's ``RECIPE.name`` is the one its file name gives. ``register``
adds a recipe of your own (see the README).
"""

from __future__ import annotations

import importlib

from dlf.recipes.recipe import Recipe

RECIPE_MODULES: tuple[str, ...] = (
    # module 1
    "dlf.scratch.recipes.mnist_mlp",
    "dlf.scratch.recipes.linear_classifiers",
    "dlf.scratch.recipes.optimizers",
    "dlf.scratch.recipes.regularization",
    "dlf.scratch.recipes.bias_variance",
    "dlf.scratch.recipes.init_and_lr",
    # module 2
    "dlf.scratch.recipes.scratch_cnn",
    "dlf.cnn.recipes.cnn_mnist",
    "dlf.cnn.recipes.cnn_fashion",
    "dlf.cnn.recipes.resnet_depth",
    "dlf.cnn.recipes.batchnorm",
    "dlf.cnn.recipes.transfer",
    "dlf.cnn.recipes.architectures",
    # module 3
    "dlf.transformer.recipes.transformer_copy",
    "dlf.transformer.recipes.transformer_tasks",
    "dlf.transformer.recipes.rnn_vs_transformer",
    "dlf.transformer.recipes.positional_encodings",
    # module 4
    "dlf.gpt.recipes.bpe",
    "dlf.gpt.recipes.gpt_shakespeare_char",
    "dlf.gpt.recipes.gpt_shakespeare_bpe",
    "dlf.gpt.recipes.grad_accum",
    "dlf.gpt.recipes.sampling",
    "dlf.gpt.recipes.masked_lm",
    "dlf.gpt.recipes.gpt_text",
    "dlf.gpt.recipes.numpy_gpt",
)


def name_of_module(module: str) -> str:
    """The recipe name a recipe module's path gives: its last part, ``_`` -> ``-``.

    Example: ``"dlf.scratch.recipes.init_and_lr"`` -> ``"init-and-lr"``.
    """
    return module.rpartition(".")[2].replace("_", "-")


# name -> module, derived from RECIPE_MODULES (not a second list of names)
CATALOG: dict[str, str] = {name_of_module(m): m for m in RECIPE_MODULES}

_registered: dict[str, Recipe] = {}


class UnknownRecipe(KeyError):
    """No recipe by that name; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(recipe: Recipe) -> Recipe:
    """Make ``recipe`` runnable by name (``dlf run``, ``run_recipe``) in this process."""
    _registered[recipe.name] = recipe
    return recipe


def recipe_names() -> list[str]:
    """All recipe names, path order first, then registered ones."""
    return [*CATALOG, *(n for n in _registered if n not in CATALOG)]


def get_recipe(name: str) -> Recipe:
    """The Recipe called ``name``; raises UnknownRecipe listing the valid names."""
    if name in _registered:
        return _registered[name]
    if name not in CATALOG:
        raise UnknownRecipe(f"no recipe named {name!r}; valid recipes: {', '.join(recipe_names())}")
    return importlib.import_module(CATALOG[name]).RECIPE
