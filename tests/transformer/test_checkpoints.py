"""Module 3's checkpoints all pass with a measured figure (timings: `dlf bench`, not here)."""

import pytest

from dlf.path import Checkpoint, run_checkpoint
from dlf.path.modules import module
from dlf.transformer.checkpoints import CHECKPOINTS


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=lambda c: c.name)
def test_checkpoint_passes(checkpoint):
    assert isinstance(checkpoint, Checkpoint) and checkpoint.module == 3
    result = run_checkpoint(checkpoint)
    assert result.status == "pass", result.figure
    assert any(ch.isdigit() for ch in result.figure) and not result.figure.startswith("error")


def test_the_path_finds_them():
    assert [c.name for c in module(3).load_checkpoints()] == [c.name for c in CHECKPOINTS]


def test_base_count_figure_is_the_paper_formula():
    """Counted by hand from section 3: shared V x d embedding, 6 encoder layers (attention
    4(d^2 + d), feed-forward 2 d d_ff + d_ff + d, 2 LayerNorms of 2d) and 6 decoder layers (two
    attentions, feed-forward, 3 LayerNorms)."""
    V, d, d_ff = 37000, 512, 2048
    attention, ffn, norm = 4 * (d * d + d), 2 * d * d_ff + d_ff + d, 2 * d
    expected = V * d + 6 * (attention + ffn + 2 * norm) + 6 * (2 * attention + ffn + 3 * norm)
    figure = run_checkpoint(CHECKPOINTS[-1]).figure
    assert f"{expected:,}" in figure and "65 M" in figure
