"""``dlf learn watch`` grades the current exercise when it is saved and moves to the next."""

import os

from dlf.learn import get_exercise
from dlf.learn.watch import current_exercise, watch
from dlf.learn.workspace import Workspace


def test_watch_grades_on_save_and_moves_on_when_it_passes(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.init()
    first = get_exercise("svm-loss")
    assert current_exercise(ws) == first
    path = ws.path(first)
    said: list[str] = []
    saves = iter(
        [
            first.solution.replace("ds /= n", "pass"),  # a first try, with a mistake
            first.solution,  # then fixed
        ]
    )

    def learner_saves(_seconds):
        text = next(saves, None)
        if text is not None:
            path.write_text(text)
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))

    assert watch(ws, say=said.append, sleep=learner_saves, rounds=4) == 1
    text = "\n".join(said)
    assert text.startswith("→ svm-loss")
    assert "✗ svm-loss" in text and "forgot to divide by N" in text
    assert "✓ svm-loss" in text
    assert said[-1].startswith("→ softmax-loss")  # the next exercise, untouched
    assert current_exercise(ws).name == "softmax-loss"
