"""``python -m dlf.learn.worker NAME FILE``: grade one exercise, print the Grade as one JSON line.

Run by :func:`dlf.learn.grading.grade_in_subprocess`. Whatever the learner's code prints goes to
stderr, so the last line of stdout is always the verdict.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dlf.learn.catalog import get_exercise
from dlf.learn.grading import grade_file


def main(argv: list[str]) -> int:
    name, path = argv
    stdout, sys.stdout = sys.stdout, sys.stderr
    grade = grade_file(get_exercise(name), Path(path))
    stdout.write(json.dumps(grade.to_json()) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
