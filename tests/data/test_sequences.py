import calendar

import pytest

from dlf.data.sequences import BOS, EOS, PAD, TASKS, make_task


@pytest.mark.parametrize("name", TASKS)
def test_splits_are_seeded_disjoint_and_right(name):
    task = make_task(name, n_train=500, n_test=100, max_len=8, long_len=12, seed=3)
    again = make_task(name, n_train=500, n_test=100, max_len=8, long_len=12, seed=3)
    assert task.train == again.train and task.test_long == again.test_long
    assert len(task.train) == 500 and len(task.test) == 100 and len(task.test_long) == 100
    assert not {s for s, _ in task.train} & {s for s, _ in task.test}
    for src, tgt in task.train + task.test + task.test_long:
        if name == "copy":
            assert tgt == src
        elif name == "reverse":
            assert tgt == src[::-1]
        elif name == "sort":
            assert tgt == "".join(sorted(src))
        elif name == "addition":
            a, b = src.split("+")
            assert int(tgt) == int(a) + int(b)
        else:
            year, month, day = (int(p) for p in tgt.split("-"))
            assert str(year) in src and calendar.month_name[month] in src or f"{month:02d}/" in src
            assert 1 <= day <= calendar.monthrange(year, month)[1]
        assert task.decode([BOS, *task.encode(tgt), EOS, PAD]) == tgt


def _size(name: str, src: str) -> int:
    """What grows in the long split: operand digits for addition, characters otherwise."""
    return len(src.split("+")[0]) if name == "addition" else len(src)


@pytest.mark.parametrize("name", TASKS)
def test_long_split_is_longer_than_training(name):
    task = make_task(name, n_train=300, n_test=50, max_len=6, long_len=10, seed=0)
    longest_train = max(_size(name, s) for s, _ in task.train)
    if name == "dates":  # the long split is the weekday format, never seen in training
        assert all("day, " in s for s, _ in task.test_long)
        assert not any("day, " in s for s, _ in task.train)
    else:
        assert longest_train == 6
        assert min(_size(name, s) for s, _ in task.test_long) == 7


def test_unknown_task_and_symbol():
    with pytest.raises(ValueError, match="known: copy"):
        make_task("translate")
    with pytest.raises(ValueError, match="'x' is not in the copy vocabulary"):
        make_task("copy", 10, 5).encode("12x")
