"""``dlf learn report``: one HTML page of the path, with the state of each of your exercises."""

from __future__ import annotations

import html
import os
from pathlib import Path

from dlf.learn.catalog import exercises
from dlf.learn.coverage import learner_proofs
from dlf.learn.grading import NOT_STARTED, PASSED
from dlf.learn.workspace import Workspace
from dlf.path.modules import MODULES
from dlf.runs import RunDir
from dlf.runs.atomic import atomic_write_text
from dlf.runs.report import Report

_FAILING = '<span class="bad">✗ failing</span>'
_MARKS = {
    PASSED: '<span class="ok">✓ passed</span>',
    NOT_STARTED: '<span class="muted">· not started</span>',
}


def write_report(workspace: Workspace) -> Path:
    """Write ``report.html`` in the workspace: per module, each exercise and its state."""
    progress = workspace.load_progress()["exercises"]
    everything = exercises()
    passed = sum(workspace.state(e) == PASSED for e in everything)
    report = Report(f"dlf learn: {passed} of {len(everything)} exercises pass")
    report.text(
        f"Workspace {workspace.root.resolve()}. Grade with `dlf learn check --dir "
        f"{workspace.root}`; this page shows the last verdicts."
    )
    for module in MODULES:
        chosen = [e for e in everything if e.module == module.number]
        if not chosen:
            continue
        report.heading(f"Module {module.number}: {module.title}")
        rows = []
        for e in chosen:
            state = workspace.state(e)
            entry = progress.get(e.name, {})
            checks = f"{entry['checks_passed']} of {entry['checks']}" if "checks" in entry else ""
            rows.append(
                [
                    html.escape(e.name),
                    html.escape(e.title),
                    f"<code>{html.escape(e.filename)}</code>",
                    _MARKS.get(state, f'<span class="bad">✗ {html.escape(state)}</span>'),
                    checks,
                    str(entry.get("hints_shown", 0)),
                    "yes" if entry.get("solution_viewed") or entry.get("solved_by_dlf") else "",
                    html.escape(e.concept),
                ]
            )
        report.table(
            [
                "exercise",
                "what you write",
                "file",
                "state",
                "checks",
                "hints",
                "solution seen",
                "concept of the path",
            ],
            rows,
            raw_html=True,
        )
    return atomic_write_text(workspace.root / "report.html", report.render())


def path_section(path_dir: RunDir, workspace: Workspace, modules: list[int] | None) -> dict:
    """``dlf path --workspace``: which checkpoints the learner's own code proves, graded now,
    and a link to the workspace's report. Returns figures for the path's summary."""
    proofs = learner_proofs(workspace, modules)
    report = write_report(workspace)
    link = os.path.relpath(report, path_dir.path)
    path_dir.report.heading("Your code")
    path_dir.report.text(
        f"Workspace {workspace.root.resolve()}. A checkpoint holds for your code when every "
        "exercise behind it passes: their graders check the same claim on your code."
    )
    rows = [
        [
            p.module,
            html.escape(p.checkpoint),
            _MARKS.get(p.state, _FAILING),
            html.escape(", ".join(p.exercises)),
        ]
        for p in proofs
    ]
    rows.append(["", f'<a href="{html.escape(link)}">your exercises</a>', "", ""])
    path_dir.report.table(["module", "checkpoint", "your code", "exercises"], rows, raw_html=True)
    proved = [p.checkpoint for p in proofs if p.state == PASSED]
    return {
        "checkpoints_proved_by_your_code": f"{len(proved)} of {len(proofs)}",
        "workspace_report": str(report),
    }
