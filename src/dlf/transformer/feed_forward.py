"""Position-wise feed-forward network (Vaswani et al. 2017, section 3.3).

    FFN(x) = max(0, x W_1 + b_1) W_2 + b_2

applied to each position separately and identically (a 1x1 convolution over the sequence).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class PositionwiseFeedForward(nn.Module):
    """W_2(dropout(activation(W_1 x))): d_model -> d_ff -> d_model at every position.

    ``activation``: "relu" (the paper) or "gelu" (exact, erf-based).
    ``forward(x)``: x (..., d_model) -> (..., d_model).
    """

    def __init__(
        self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu"
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}: choose one of {sorted(ACTIVATIONS)}"
            )
        self.W_1 = nn.Linear(d_model, d_ff)
        self.W_2 = nn.Linear(d_ff, d_model)
        self.activation = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.W_2(self.dropout(self.activation(self.W_1(x))))
