"""What a cell of a workspace notebook calls: grade an exercise, import your code, guard a plot.

The notebooks that ``dlf learn init`` writes (``1-foundations.ipynb``, ...) live in the workspace
root, so by default the workspace is the notebook's own folder (the kernel's working folder)::

    from dlf.learn.notebook import grade, load, passes
    grade("svm-loss")                 # graded as by `dlf learn check svm-loss`, shown as ✓/✗
    if passes("svm-loss"):            # else: one line saying why the plot is skipped
        svm = load("svm-loss")        # your 1-foundations/01_svm_loss.py, freshly imported
        svm.svm_loss(scores, y)

Grading runs your file in a separate process with the exercise's time limit, and its verdict is
kept in ``progress.json``, exactly as ``dlf learn check`` does.
"""

from __future__ import annotations

import functools
import html
import os
from pathlib import Path
from types import ModuleType

import numpy as np

from dlf.learn.catalog import get_exercise
from dlf.learn.grading import NOT_STARTED, PASSED, Grade, grade_in_subprocess, load_learner_module
from dlf.learn.workspace import NOT_CHECKED, Workspace

_MARKS = {PASSED: "✓", NOT_STARTED: "·"}
_COLOURS = {PASSED: "#1a7f37", NOT_STARTED: "#6e7781"}
FAILURES_SHOWN = 8


def workspace_root(workspace: str | Path | None = None) -> Path:
    """The workspace folder: ``workspace`` if given, else the notebook's own folder.

    A kernel started by Jupyter or VS Code works in the notebook's folder; that folder, or the
    nearest parent holding a workspace, is the default. Raises FileNotFoundError if none is.
    """
    if workspace is not None:
        return Path(workspace)
    here = Path.cwd()
    candidates = [here]
    session = os.environ.get("JPY_SESSION_NAME", "")  # the notebook's path (Jupyter server)
    if session and Path(session).is_file():
        candidates.append(Path(session).resolve().parent)
    candidates += list(here.parents)
    for folder in candidates:
        if Workspace(folder).exists():
            return folder
    raise FileNotFoundError(
        f"no dlf workspace in {here} or its parents: open the notebook from the workspace that "
        "`dlf learn init DIR` wrote, or pass workspace=DIR"
    )


class NotebookGrade(Grade):
    """A Grade that a notebook shows as HTML (``_repr_html_``) or text (``str``)."""

    _shown_in_cell: int | None = None

    def text(self) -> str:
        """``✓ svm-loss: passed (24 of 24 checks pass, 0.2 s)``, then the error and the failing
        checks with their likely mistakes."""
        lines = [self._headline()]
        if self.state == NOT_STARTED and not self.error:
            lines.append(f"  write {get_exercise(self.exercise).filename}, save, run this again")
        return "\n".join(lines + self.lines(FAILURES_SHOWN)[: -1 if self.checks else None])

    def _headline(self) -> str:
        mark = _MARKS.get(self.state, "✗")
        counts = ""
        if self.checks:
            ok = sum(c.passed for c in self.checks)
            counts = f"{ok} of {len(self.checks)} checks pass, "
        tail = f" ({counts}{self.seconds:.1f} s)" if self.state != NOT_STARTED else ""
        return f"{mark} {self.exercise}: {self.state}{tail}"

    def _repr_html_(self) -> str:
        colour = _COLOURS.get(self.state, "#cf222e")
        parts = [
            f'<div style="color:{colour};font-weight:bold">{html.escape(self._headline())}</div>'
        ]
        if self.state == NOT_STARTED and not self.error:
            path = get_exercise(self.exercise).filename
            parts.append(
                f"<div>Write your code in <code>{html.escape(path)}</code>, save, and run this "
                "cell again.</div>"
            )
        if self.error:
            parts.append(
                '<pre style="color:#cf222e;white-space:pre-wrap">'
                + html.escape(self.error)
                + "</pre>"
            )
        failed = [c for c in self.checks if not c.passed]
        if failed:
            items = []
            for c in failed[:FAILURES_SHOWN]:
                item = f"✗ {html.escape(c.what)}"
                if c.on:
                    item += f" <i>[{html.escape(c.on)}]</i>"
                if c.detail:
                    item += f": {html.escape(c.detail)}"
                if c.diagnosis:
                    item += f"<br><b>likely mistake:</b> {html.escape(c.diagnosis)}"
                items.append(f'<li style="color:#cf222e">{item}</li>')
            if len(failed) > FAILURES_SHOWN:
                items.append(f"<li>... and {len(failed) - FAILURES_SHOWN} more failing checks</li>")
            parts.append(
                '<ul style="list-style:none;padding-left:0.5em">' + "".join(items) + "</ul>"
            )
        passed = [c for c in self.checks if c.passed]
        if passed:
            rows = "".join(
                f"<li>✓ {html.escape(c.what)}" + (f" <i>[{html.escape(c.on)}]</i>" if c.on else "")
                for c in passed
            )
            parts.append(
                f"<details><summary>{len(passed)} passing checks</summary>"
                f'<ul style="list-style:none;padding-left:0.5em;color:#1a7f37">{rows}</ul>'
                "</details>"
            )
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's text/plain
        p.text(self.text())

    def _ipython_display_(self) -> None:
        """Shown again when asked for, not twice in the cell that graded it."""
        shell = _shell()
        if shell is not None and shell.execution_count == self._shown_in_cell:
            return
        _show(self)


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _show(grade: NotebookGrade) -> None:
    shell = _shell()
    if shell is None:
        print(grade.text())
        return
    from IPython.display import display

    # text/plain and text/html (the notebook shows the HTML); raw: not through
    # _ipython_display_, which calls this
    display({"text/plain": grade.text(), "text/html": grade._repr_html_()}, raw=True)
    grade._shown_in_cell = shell.execution_count


def grade(name: str, workspace: str | Path | None = None, timeout: float | None = None) -> Grade:
    """Grade exercise ``name`` as ``dlf learn check NAME`` does, record it, show the verdict.

    Returns the Grade (a NotebookGrade). The workspace defaults to the notebook's folder.
    """
    ws = Workspace(workspace_root(workspace))
    exercise = get_exercise(name)
    got = grade_in_subprocess(exercise, ws.path(exercise), timeout)
    ws.record(got)
    shown = NotebookGrade(got.exercise, got.state, got.checks, got.error, got.seconds)
    _show(shown)
    return shown


def load(name: str, workspace: str | Path | None = None) -> ModuleType:
    """Your file for exercise ``name``, imported afresh (your edits since are picked up)."""
    ws = Workspace(workspace_root(workspace))
    return load_learner_module(ws.path(get_exercise(name)).resolve())


def passes(name: str, workspace: str | Path | None = None, quiet: bool = False) -> bool:
    """Whether exercise ``name`` passes; if not, print one line saying the cell is skipped
    (``quiet``: say nothing).

    Uses the verdict recorded by the last grading of the file as it is now; a file changed since
    is graded again (quietly).
    """
    ws = Workspace(workspace_root(workspace))
    exercise = get_exercise(name)
    state = ws.state(exercise)
    if state == NOT_CHECKED:
        got = grade_in_subprocess(exercise, ws.path(exercise))
        ws.record(got)
        state = got.state
    if state == PASSED:
        return True
    if not quiet:
        print(
            f"(skipped: {name} is {state}; this cell runs your code once it passes: "
            f"{exercise.filename})"
        )
    return False


@functools.cache
def _mnist_test() -> tuple[np.ndarray, np.ndarray]:
    from dlf.data.images import load_images

    data = load_images("mnist")
    return data.x_test, data.y_test


def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` MNIST test digits: images (n, 1, 28, 28) float64 in [0, 1], labels (n,).

    MNIST is found as ``dlf run`` finds it (``$DLF_DATA``, else the cache, else a download).
    """
    images, labels = _mnist_test()
    return images[:n].astype(np.float64) / 255.0, labels[:n].copy()
