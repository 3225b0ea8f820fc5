"""What an exercise is: a stub the learner edits, the reference solution, a grader and hints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dlf.learn.grader import Grader

MODULE_FOLDERS = {1: "1-foundations", 2: "2-convnets", 3: "3-attention", 4: "4-language-models"}


@dataclass(frozen=True)
class Exercise:
    """One piece of the path that the learner writes and ``dlf`` grades.

    ``stub`` is the text of the learner's file: imports, then each function (or class method) to
    write with its signature, a docstring that states the equation, the shapes and what the
    grader checks, and a body that raises ``NotImplementedError``. ``solution`` is the same file
    solved: where the project implements the piece, its bodies are the project's own code
    (:func:`dlf.learn.source.fill_bodies`), so a formula is written once. ``grade(g)`` calls the
    learner's code through the :class:`~dlf.learn.grader.Grader` ``g`` and compares it with the
    reference. ``hints`` are shown one at a time by ``dlf learn hint``. ``concept`` is the name
    of the concept of :mod:`dlf.path.modules` that the exercise covers. ``timeout`` bounds one
    grading, in seconds (a loop that never ends is stopped and reported).
    """

    name: str
    module: int
    number: int
    title: str
    concept: str
    stub: str
    solution: str
    grade: Callable[[Grader], None]
    hints: tuple[str, ...]
    timeout: float = 60.0

    @property
    def folder(self) -> str:
        return MODULE_FOLDERS[self.module]

    @property
    def filename(self) -> str:
        """The file's place in a workspace, e.g. ``1-foundations/01_svm_loss.py``."""
        return f"{self.folder}/{self.number:02d}_{self.name.replace('-', '_')}.py"
