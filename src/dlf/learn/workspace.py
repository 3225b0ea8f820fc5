"""The learner's workspace: one plain ``.py`` file per exercise, a README and ``progress.json``.

    dlf-workspace/
        README.md
        1-foundations.ipynb           a notebook per module: grade cells and plots of your code
        2-convnets.ipynb ... 4-language-models.ipynb
        progress.json                 written by dlf only (atomically)
        1-foundations/01_svm_loss.py  ...in path order
        2-convnets/01_conv_naive.py   ...
        3-attention/...  4-language-models/...

``init`` writes only the files that are missing; grading never writes into the learner's files.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlf.learn.catalog import exercises, get_exercise
from dlf.learn.exercise import MODULE_FOLDERS, Exercise
from dlf.learn.grading import NOT_STARTED, Grade, is_untouched
from dlf.runs.atomic import atomic_write_json, atomic_write_text

DEFAULT_DIR = "dlf-workspace"
NOT_CHECKED = "not checked"

README = """# Your dlf workspace

Each file here is one piece of the path for you to write: its docstring gives the equation, the
shapes and what the grader checks, and its body raises `NotImplementedError` until you replace
it. Work through them in order (`dlf learn list` shows where you are):

    dlf learn watch --dir {dir}          # grades the current exercise on every save
    dlf learn check NAME --dir {dir}     # grade one exercise (no NAME: all you started)
    dlf learn hint NAME --dir {dir}      # the next hint, one at a time
    dlf learn solution NAME --dir {dir}  # the reference (noted in your progress)
    dlf learn report --dir {dir}         # an HTML page of your progress

When a check fails, `dlf` says which check, on what input, by how much, and, where it
recognises the error, the likely mistake. Your code runs in a separate process with a time limit,
so an exception or an endless loop is reported, never a crash.

Or work in a notebook, one per module, beside this README (CS231n's assignment notebooks,
graded by dlf): each exercise has a cell that grades it and, once it passes, plots drawn with
your own code. Open them with Jupyter or VS Code, in a kernel of the Python where dlf is
installed:

    jupyter lab {dir}/1-foundations.ipynb      # then 2-convnets, 3-attention, 4-language-models

With your own code, train the path's projects:

    dlf run mnist-mlp --quick workspace={dir}   # your layers, loss and optimizer on MNIST
    dlf run cnn-mnist --quick workspace={dir}   # your CNN
    dlf run gpt-shakespeare-char --quick workspace={dir}   # a GPT of your attention and block

{listing}
"""


@dataclass
class Workspace:
    """A learner's folder; ``progress`` is the content of ``progress.json``."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path(self, exercise: Exercise) -> Path:
        return self.root / exercise.filename

    @property
    def progress_file(self) -> Path:
        return self.root / "progress.json"

    def exists(self) -> bool:
        return self.root.is_dir() and any((self.root / f).is_dir() for f in MODULE_FOLDERS.values())

    def init(self) -> list[Path]:
        """Write every missing exercise file, the README and the notebooks; returns those
        written (an existing file is never replaced)."""
        from dlf.learn.notebooks import notebooks

        written = []
        listing = "\n".join(f"- `{e.filename}`: {e.title} (`{e.name}`)" for e in exercises())
        files = {
            self.root / "README.md": README.format(dir=self.root, listing=listing),
            **{self.root / name: text for name, text in notebooks().items()},
            **{self.path(e): e.stub for e in exercises()},
        }
        for path, text in files.items():
            if path.exists():
                continue
            atomic_write_text(path, text)
            written.append(path)
        return written

    def load_progress(self) -> dict[str, Any]:
        """``{"exercises": {name: {...}}}``; an unreadable file counts as no progress."""
        try:
            data = json.loads(self.progress_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"exercises": {}}
        if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
            return {"exercises": {}}
        return data

    def update(self, name: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the progress entry of exercise ``name`` and save atomically."""
        data = self.load_progress()
        entry = data["exercises"].setdefault(name, {})
        entry.update(fields)
        atomic_write_json(self.progress_file, data)
        return entry

    def record(self, grade: Grade) -> None:
        """Keep the verdict of a grading (state, checks passed, seconds, when)."""
        path = self.path(get_exercise(grade.exercise))
        self.update(
            grade.exercise,
            state=grade.state,
            mtime=path.stat().st_mtime_ns if path.is_file() else None,
            checks_passed=sum(c.passed for c in grade.checks),
            checks=len(grade.checks),
            seconds=grade.seconds,
            checked_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )

    def state(self, exercise: Exercise) -> str:
        """The last graded state; "not started" for an untouched stub or a missing file, and
        "not checked" for a file edited but not graded since."""
        path = self.path(exercise)
        if not path.is_file() or is_untouched(exercise, path):
            return NOT_STARTED
        entry = self.load_progress()["exercises"].get(exercise.name, {})
        if entry.get("mtime") != path.stat().st_mtime_ns:
            return NOT_CHECKED
        return entry.get("state", NOT_CHECKED)

    def started(self) -> list[Exercise]:
        """The exercises whose file differs from its stub, in path order."""
        return [
            e for e in exercises() if self.path(e).is_file() and not is_untouched(e, self.path(e))
        ]
