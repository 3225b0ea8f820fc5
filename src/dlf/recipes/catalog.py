"""The recipes of the path by name, in path order, imported only when asked for.

Each entry names the module whose ``RECIPE`` attribute is the Recipe, so ``dlf run mnist-mlp``
imports NumPy code only. ``register`` adds a recipe of your own (see the README).
"""

from __future__ import annotations

import importlib

from dlf.recipes.recipe import Recipe

CATALOG: dict[str, str] = {
    "mnist-mlp": "dlf.scratch.recipes.mnist_mlp",
    "linear-classifiers": "dlf.scratch.recipes.linear_classifiers",
    "optimizers": "dlf.scratch.recipes.optimizers",
    "regularization": "dlf.scratch.recipes.regularization",
    "bias-variance": "dlf.scratch.recipes.bias_variance",
    "init-and-lr": "dlf.scratch.recipes.init_and_lr",
    "scratch-cnn": "dlf.scratch.recipes.scratch_cnn",
    "cnn-mnist": "dlf.cnn.recipes.cnn_mnist",
    "cnn-fashion": "dlf.cnn.recipes.cnn_fashion",
    "resnet-depth": "dlf.cnn.recipes.resnet_depth",
    "batchnorm": "dlf.cnn.recipes.batchnorm",
    "transfer": "dlf.cnn.recipes.transfer",
    "architectures": "dlf.cnn.recipes.architectures",
    "transformer-copy": "dlf.transformer.recipes.transformer_copy",
    "transformer-tasks": "dlf.transformer.recipes.transformer_tasks",
    "rnn-vs-transformer": "dlf.transformer.recipes.rnn_vs_transformer",
    "positional-encodings": "dlf.transformer.recipes.positional_encodings",
    "bpe": "dlf.gpt.recipes.bpe",
    "gpt-shakespeare-char": "dlf.gpt.recipes.gpt_shakespeare_char",
    "gpt-shakespeare-bpe": "dlf.gpt.recipes.gpt_shakespeare_bpe",
    "grad-accum": "dlf.gpt.recipes.grad_accum",
    "gpt-text": "dlf.gpt.recipes.gpt_text",
    "sampling": "dlf.gpt.recipes.sampling",
    "masked-lm": "dlf.gpt.recipes.masked_lm",
    "numpy-gpt": "dlf.gpt.recipes.numpy_gpt",
}

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
