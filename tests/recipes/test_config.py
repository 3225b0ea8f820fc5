from dataclasses import dataclass
from typing import Literal

import pytest

from dlf.recipes import ConfigError, apply_overrides, parse_overrides, sweep_grid
from dlf.recipes.runner import split_alternatives


@dataclass
class _Cfg:
    epochs: int = 3
    lr: float = 0.1
    hidden: tuple[int, ...] = (512, 256)
    schedule: Literal["step", "cosine"] = "step"
    dropout: bool = False
    init: str | None = "he"
    name: str = "x"


@pytest.mark.parametrize(
    "pair,field,value",
    [
        ("epochs=5", "epochs", 5),
        ("lr=3e-4", "lr", 3e-4),
        ("hidden=1024,64", "hidden", (1024, 64)),
        ("hidden=[32]", "hidden", (32,)),
        ("schedule=cosine", "schedule", "cosine"),
        ("dropout=true", "dropout", True),
        ("dropout=0", "dropout", False),
        ("init=none", "init", None),
        ("init=xavier", "init", "xavier"),
    ],
)
def test_typed_overrides(pair, field, value):
    assert getattr(apply_overrides(_Cfg(), parse_overrides([pair])), field) == value


@pytest.mark.parametrize(
    "pair,message",
    [
        ("epochs=abc", "epochs wants an int, got 'abc'"),
        ("lr=fast", "lr wants a float"),
        ("dropout=maybe", "dropout wants a bool"),
        ("schedule=linear", "schedule wants one of 'step', 'cosine'"),
        ("no_such_key=1", "valid keys: epochs, lr, hidden, schedule, dropout, init, name"),
        ("epochs", "expected key=value"),
    ],
)
def test_bad_overrides_say_what_is_wanted(pair, message):
    with pytest.raises(ConfigError) as err:
        apply_overrides(_Cfg(), parse_overrides([pair]))
    assert message in str(err.value)


def test_sweep_grid_and_brackets():
    assert split_alternatives("[512,256],[64]") == ["[512,256]", "[64]"]
    grid = sweep_grid(["lr=0.1,0.01", "hidden=[8,8],[4]"])
    assert grid == [
        {"lr": "0.1", "hidden": "[8,8]"},
        {"lr": "0.1", "hidden": "[4]"},
        {"lr": "0.01", "hidden": "[8,8]"},
        {"lr": "0.01", "hidden": "[4]"},
    ]
