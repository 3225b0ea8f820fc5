"""Module 1's checkpoints all pass (timings: `dlf bench`, not here); a planted bug is caught."""

import numpy as np
import pytest

from dlf.path import Checkpoint, run_checkpoint
from dlf.scratch.checkpoints import CHECKPOINTS, PlantedBugLinear
from dlf.scratch.gradcheck import check_layer


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=lambda c: c.name)
def test_checkpoint_passes(checkpoint):
    assert isinstance(checkpoint, Checkpoint) and checkpoint.module == 1
    result = run_checkpoint(checkpoint)
    assert result.status == "pass", result.figure
    assert result.figure and not result.figure.startswith("error")


def test_the_planted_bug_is_a_wrong_gradient():
    x = np.random.default_rng(0).standard_normal((3, 4))
    errors = check_layer(PlantedBugLinear(4, 2, rng=np.random.default_rng(0)), x)
    assert errors["W"] == pytest.approx(1 / 3, rel=1e-6)  # |2g - g| / (|2g| + |g|)
    assert errors["x"] < 1e-9 and errors["b"] < 1e-9
