import re
from pathlib import Path

import pytest

from dlf.path import MODULES, markdown_table, run_checkpoints
from dlf.path.checkpoint import Checkpoint, Evidence, run_checkpoint
from dlf.recipes import CATALOG, get_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_every_named_file_exists():
    for m in MODULES:
        for concept in m.concepts:
            for f in concept.files:
                assert (ROOT / "src" / "dlf" / f).is_file(), f"{concept.name}: {f} missing"


def test_every_recipe_the_path_names_exists_and_belongs_to_its_module():
    for m in MODULES:
        named = {*m.recipes, *(c.recipe for c in m.concepts if c.recipe is not None)}
        unknown = sorted(named - set(CATALOG))
        assert not unknown, f"module {m.number} names recipes that do not exist: {unknown}"
        assert all(c.recipe is None or c.recipe in m.recipes for c in m.concepts)
        assert all(get_recipe(r).module == m.number for r in m.recipes)


def test_the_path_runs_every_catalog_recipe_once_in_catalog_order():
    assert [r for m in MODULES for r in m.recipes] == list(CATALOG)


def test_built_modules_have_all_their_recipes_and_checkpoints():
    for m in MODULES:
        if m.built:
            assert all(r in CATALOG for r in m.recipes)
            assert m.load_checkpoints()
            for c in m.concepts:
                assert c.recipe is None or c.recipe in m.recipes


def test_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- path-table[^>]*-->\n(.*?)\n<!-- /path-table -->", readme, re.S)
    assert block, "README lacks the path table markers"
    assert block.group(1) == markdown_table(), "regenerate: python -c 'from dlf.path import ...'"


def test_not_built_is_never_passing():
    for r in run_checkpoints([m.number for m in MODULES if not m.built]):
        assert r.status == "not built yet" and r.mark != "✓"


@pytest.mark.parametrize(
    "check,status,figure",
    [
        (lambda: Evidence(True, "err 1e-9"), "pass", "err 1e-9"),
        (lambda: Evidence(False, "err 0.3"), "fail", "err 0.3"),
        (lambda: 1 / 0, "fail", "error: ZeroDivisionError: division by zero"),
    ],
)
def test_a_checkpoint_result(check, status, figure):
    result = run_checkpoint(Checkpoint(9, "demo", "a claim", check))
    assert result.status == status and result.figure.startswith(figure)
