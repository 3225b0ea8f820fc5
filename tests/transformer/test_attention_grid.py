"""The Module 3 recipes' attention grid: the shared heat map, tokens on the axes, a colour bar."""

from __future__ import annotations

import torch

from dlf.transformer.recipes.figures import attention_grid


def test_grid_of_layers_and_heads_with_tokens_and_one_colour_bar():
    weights = torch.softmax(torch.randn(1, 2, 4, 3), dim=-1)
    maps = {"decoder.layers.0.cross_attn": weights, "decoder.layers.1.cross_attn": weights}
    fig = attention_grid(maps, ["1", "2", "3"], ["<s>", "1", "2", "3"])
    maps_axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in maps_axes] == [
        "decoder.L0.cross h0", "decoder.L0.cross h1", "decoder.L1.cross h0", "decoder.L1.cross h1"
    ]  # fmt: skip
    assert [t.get_text() for t in maps_axes[0].get_xticklabels()] == ["1", "2", "3"]
    assert [t.get_text() for t in maps_axes[0].get_yticklabels()] == ["<s>", "1", "2", "3"]
    (bar,) = [ax for ax in fig.axes if ax.get_ylabel() == "attention weight"]
    assert len(fig.axes) == 5
