"""The catalog: each recipe's name is written once, in its module, and read from its file name."""

import subprocess
import sys

import pytest

from dlf.recipes import CATALOG, RECIPE_MODULES, get_recipe, recipe_names
from dlf.recipes.catalog import name_of_module


def test_names_are_unique_and_in_the_catalogs_order():
    assert len(CATALOG) == len(RECIPE_MODULES)
    assert list(CATALOG.values()) == list(RECIPE_MODULES)
    assert recipe_names()[: len(CATALOG)] == list(CATALOG)


@pytest.mark.parametrize("module", RECIPE_MODULES)
def test_each_modules_recipe_is_named_as_its_file(module):
    recipe = get_recipe(name_of_module(module))
    assert recipe.name == name_of_module(module), (
        f"{module} defines RECIPE named {recipe.name!r}: name the file "
        f"{recipe.name.replace('-', '_')}.py or the recipe {name_of_module(module)!r}"
    )
    assert recipe is __import__(module, fromlist=["RECIPE"]).RECIPE


def test_running_mnist_mlp_imports_its_module_only_and_no_torch():
    code = (
        "import sys\n"
        "from dlf.recipes import RECIPE_MODULES, get_recipe, recipe_names\n"
        "recipe_names(); get_recipe('mnist-mlp')\n"
        "print('torch' in sys.modules, [m for m in RECIPE_MODULES if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False ['dlf.scratch.recipes.mnist_mlp']"
