"""Module 2's checkpoints all pass, and their probes can fail (timings: `dlf bench`, not here)."""

from __future__ import annotations

import numpy as np
import pytest

from dlf.cnn.checkpoints import CHECKPOINTS, CONV_CASES, conv_max_difference
from dlf.path import Checkpoint, run_checkpoint
from dlf.scratch.layers import Conv2d
from tests.conftest import data_available

# 56-layer nets in float64, and training: `pytest -m "not slow"` skips them
SLOW = {"skip connections", "transfer"}


@pytest.mark.parametrize(
    "checkpoint",
    [pytest.param(c, marks=pytest.mark.slow) if c.name in SLOW else c for c in CHECKPOINTS],
    ids=lambda c: c.name,
)
def test_checkpoint_passes(checkpoint):
    assert isinstance(checkpoint, Checkpoint) and checkpoint.module == 2
    if checkpoint.name == "transfer" and not data_available("mnist"):
        pytest.skip("MNIST not in $DLF_DATA")
    result = run_checkpoint(checkpoint)
    assert result.status == "pass", result.figure
    assert result.figure and not result.figure.startswith("error")


def test_the_five_checkpoints_of_module_2():
    assert [c.name for c in CHECKPOINTS] == [
        "convolution", "receptive field", "skip connections", "batch norm", "transfer",
    ]  # fmt: skip


class OffByOneConv(Conv2d):
    """A planted bug: the weight gradient is scaled wrongly."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] *= 1.001
        return dx


def test_conv_probe_catches_a_wrong_gradient(monkeypatch):
    import dlf.cnn.checkpoints as cps

    assert conv_max_difference(CONV_CASES[0], np.random.default_rng(0)) < 1e-10
    monkeypatch.setattr(cps, "Conv2d", OffByOneConv)
    assert conv_max_difference(CONV_CASES[0], np.random.default_rng(0)) > 1e-6
    assert not cps.check_conv_equals_torch().passed
