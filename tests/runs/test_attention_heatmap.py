"""One drawing for every attention map: tokens on both axes and a colour bar."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from dlf.runs import attention_heatmap, token_label


def test_tokens_on_both_axes_and_a_colour_bar():
    fig = Figure()
    ax = fig.subplots()
    weights = torch.softmax(torch.randn(3, 4), dim=-1)
    image = attention_heatmap(ax, weights, ["a", "b", "c"], ["<s>", "a", " b", "c"], "h0")
    assert len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[1].get_ylabel() == "attention weight"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["<s>", "a", "␣b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "key" and ax.get_ylabel() == "query"
    assert image.get_clim() == (0.0, 1.0)
    np.testing.assert_array_equal(image.get_array(), weights.numpy())


def test_a_grid_shares_one_colour_bar_and_long_sequences_thin_their_labels():
    fig = Figure()
    axes = fig.subplots(1, 2)
    tokens = [f"t{i}" for i in range(100)]
    for ax in axes:
        image = attention_heatmap(ax, np.eye(100), tokens, tokens, colorbar=False)
    assert len(fig.axes) == 2
    labels = [t.get_text() for t in axes[0].get_xticklabels()]
    assert labels[:2] == ["t0", "t3"] and len(labels) == 34  # every 3rd of 100: at most 40
    fig.colorbar(image, ax=list(axes))
    assert len(fig.axes) == 3


def test_weights_must_be_one_map():
    with pytest.raises(ValueError, match=r"must be \(L, S\)"):
        attention_heatmap(Figure().subplots(), np.zeros((2, 3, 3)))


@pytest.mark.parametrize(
    "token,label", [(" the", "␣the"), ("\n", "↵"), ("a\tb", "a⇥b"), ("x" * 20, "x" * 11 + "…")]
)
def test_token_labels_show_whitespace(token, label):
    assert token_label(token) == label
