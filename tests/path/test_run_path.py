import json
import re
from dataclasses import dataclass

import pytest

from dlf.path import MODULES, PathModule, run_path
from dlf.path.runner import headline
from dlf.recipes import Recipe
from dlf.recipes.catalog import CATALOG
from tests.report_checks import check_self_contained

_GHOST = PathModule(9, "A module to come", (), ("ghost-recipe",), "dlf.ghost.checks")


def test_a_module_not_built_shows_as_not_built(tmp_path, monkeypatch):
    monkeypatch.setattr("dlf.path.runner.MODULES", (_GHOST,))
    path_dir, summary = run_path(quick=True, runs_dir=tmp_path, quiet=True)
    assert summary["modules_not_built"] == [9] and summary["checkpoints_passed"] == 0
    page = (path_dir.path / "report.html").read_text()
    assert page.count("not built yet") == 2  # the recipes table and the checkpoint table
    assert "✓" not in page


@pytest.mark.slow
@pytest.mark.skipif(not MODULES[0].built, reason="module 1 not built")
def test_quick_path_of_module_1_writes_one_linked_report(tmp_path):
    path_dir, summary = run_path(quick=True, modules=[1], runs_dir=tmp_path, quiet=True)
    assert summary["recipes_failed"] == [] and summary["checkpoints_failed"] == []
    assert summary["recipes_run"] == len(MODULES[0].recipes)
    report = path_dir.path / "report.html"
    check_self_contained(report)
    links = re.findall(r'href="([^"]+)"', report.read_text())
    assert len(links) == len(MODULES[0].recipes)
    for link in links:
        linked = (path_dir.path / link).resolve()
        assert linked.is_file()
        assert json.loads((linked.parent / "summary.json").read_text())["status"] == "completed"
        check_self_contained(linked)


@dataclass
class _Cfg:
    shown: bool = False


def _claims(config: _Cfg, run_dir) -> dict:
    run_dir.effect("the loss falls", True, "2.3 -> 0.4")
    run_dir.effect("momentum beats SGD", config.shown, "0.52 vs 0.50")
    return {"loss": 0.123456789, "curve": [1.0, 0.5], "config": {"a": 1}, "ok": True}


RECIPE = Recipe("shows-too-little", 9, "one effect not shown (tests only)", _Cfg, _claims)
CHECKPOINTS: list = []


def test_an_effect_not_shown_is_a_failed_row(tmp_path, monkeypatch):
    monkeypatch.setitem(CATALOG, "shows-too-little", __name__)
    module = PathModule(9, "Effects", (), ("shows-too-little",), __name__)
    monkeypatch.setattr("dlf.path.runner.MODULES", (module,))
    path_dir, summary = run_path(quick=True, runs_dir=tmp_path, quiet=True)
    assert summary["recipes_failed"] == ["shows-too-little"]
    assert summary["effects_not_shown"] == {"shows-too-little": ["momentum beats SGD"]}
    page = (path_dir.path / "report.html").read_text()
    assert "effect not shown" in page
    assert '<span class="ok">✓</span> the loss falls: 2.3 -&gt; 0.4' in page
    assert '<span class="bad">✗</span> momentum beats SGD' in page
    assert "[1.0, 0.5]" not in page.split("Checkpoints")[0].split("Recipes")[1]


def test_headline_rounds_and_leaves_out_lists_and_dicts():
    summary = {"recipe": "x", "status": "completed", "loss": 0.123456789, "curve": [1, 2]}
    summary |= {"config": {"a": 1}, "ok": True, "epochs": 20}
    assert headline(summary) == "loss 0.1235, ok yes, epochs 20"
