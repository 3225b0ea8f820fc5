"""The learner's side: exercises the learner writes and ``dlf`` grades (``dlf learn``).

An exercise (:class:`Exercise`) is a stub, the reference solution and a grader; a workspace
(:class:`Workspace`) is the learner's folder of plain ``.py`` files and their progress.
"""

from dlf.learn.catalog import EXERCISES, UnknownExercise, exercises, get_exercise
from dlf.learn.exercise import Exercise
from dlf.learn.grader import Check, Grader, LearnerError, Mistake
from dlf.learn.grading import Grade, grade_file, grade_in_subprocess

__all__ = [
    "EXERCISES",
    "Check",
    "Exercise",
    "Grade",
    "Grader",
    "LearnerError",
    "Mistake",
    "UnknownExercise",
    "exercises",
    "get_exercise",
    "grade_file",
    "grade_in_subprocess",
]
