import json
import re

import pytest

from dlf.path import MODULES, PathModule, run_path
from tests.report_checks import check_self_contained

_GHOST = PathModule(9, "A module to come", "dlf.ghost", (), ("ghost-recipe",), "dlf.ghost.checks")


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
