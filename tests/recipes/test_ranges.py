"""Ranges declared beside fields, checked before any folder is made."""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass

import pytest

from dlf.cli import main
from dlf.recipes import (
    CATALOG,
    ConfigError,
    Range,
    Recipe,
    check_ranges,
    get_recipe,
    ranged,
    recipe_names,
    register,
    run_recipe,
)
from dlf.recipes.describe import describe


@dataclass
class _Cfg:
    lr: float = ranged(0.1, gt=0)
    batch_size: int = ranged(8, ge=1)
    dropout: float = ranged(0.0, ge=0, lt=1)
    hidden: tuple[int, ...] = ranged((4, 2), ge=1)
    top_k: int | None = ranged(None, ge=1)


def _never_runs(config, run_dir):
    raise AssertionError("a bad value must stop the run before it starts")


_RECIPE = register(Recipe("ranges-test", 0, "ranged fields (tests only)", _Cfg, _never_runs))


@pytest.mark.parametrize(
    ("range_", "inside", "outside"),
    [
        (Range(gt=0), [1e-9, 5, 1e300], [0, -1, math.nan, math.inf]),
        (Range(ge=0, lt=1), [0, 0.5], [1, -0.1, math.nan]),
        (Range(ge=1, le=3), [1, 3], [0, 4]),
    ],
)
def test_range_contains(range_, inside, outside):
    assert all(range_.contains(x) for x in inside)
    assert not any(range_.contains(x) for x in outside)


def test_range_reads_as_its_bounds():
    assert str(Range(ge=0, lt=1)) == ">= 0 and < 1"
    assert str(Range(gt=0)) == "> 0"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr": "-1"}, "lr must be > 0, got -1.0"),
        ({"lr": "nan"}, "lr must be > 0, got nan"),
        ({"batch_size": "0"}, "batch_size must be >= 1, got 0"),
        ({"dropout": "1.5"}, "dropout must be >= 0 and < 1, got 1.5"),
        ({"hidden": "4,0"}, "hidden must be >= 1, got 0"),
        ({"top_k": "0"}, "top_k must be >= 1, got 0"),
    ],
)
def test_values_outside_their_range_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        _RECIPE.make_config(overrides=overrides)


def test_defaults_and_none_pass():
    assert _RECIPE.make_config(overrides={"top_k": "none"}).top_k is None
    assert _RECIPE.make_config(overrides={"top_k": "3"}).top_k == 3
    check_ranges(_Cfg())


def test_run_recipe_checks_ranges_before_making_a_folder(tmp_path):
    with pytest.raises(ConfigError):
        run_recipe(_RECIPE, _Cfg(lr=-1.0), tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())


def test_dlf_run_says_one_line_and_exits_2(tmp_path, capsys):
    status = main(["run", "ranges-test", "batch_size=0", "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err == "dlf: error: batch_size must be >= 1, got 0\n"
    assert not any(tmp_path.iterdir())


def test_help_shows_each_range():
    text = describe(_RECIPE)
    assert "(range: > 0)" in text
    assert "(range: >= 0 and < 1)" in text


def numeric(tp: object) -> bool:
    """int, float, a tuple of them, or an optional one (``bool`` is not a number here)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(numeric(a) for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is tuple:
        return all(numeric(a) for a in typing.get_args(tp) if a is not Ellipsis)
    return tp in (int, float)


@pytest.mark.parametrize("name", [n for n in recipe_names() if n in CATALOG])  # not tests' own
def test_every_number_field_of_every_recipe_declares_its_range(name):
    config = get_recipe(name).config
    hints = typing.get_type_hints(config)
    unranged = [
        f.name
        for f in dataclasses.fields(config)
        if numeric(hints[f.name]) and "range" not in f.metadata
    ]
    assert unranged == [], f"{name}: give these fields ranged(default, ...)"


@pytest.mark.parametrize(
    ("tp", "expected"),
    [(int, True), (float, True), (tuple[int, ...], True), (int | None, True), (bool, False),
     (str, False), (tuple[str, ...], False), (typing.Literal[1, 2], False)],
)  # fmt: skip
def test_numeric_types(tp, expected):
    assert numeric(tp) is expected
