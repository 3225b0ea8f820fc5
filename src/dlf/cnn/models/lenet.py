"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998, "Gradient-based learning applied to document
recognition", Section II.B and Fig. 2).

    input 1x32x32 -> C1 conv 6@5x5 -> 6x28x28 -> S2 subsample 2x2 -> 6x14x14
    -> C3 conv 16@5x5 -> 16x10x10 -> S4 subsample 2x2 -> 16x5x5
    -> C5 conv 120@5x5 -> 120x1x1 -> F6 full 84 -> output full num_classes

Squashing function: the paper's scaled tanh ``f(a) = A tanh(S a)``, ``A = 1.7159``, ``S = 2/3``
(Appendix A). Initialisation: weights uniform in ``(-2.4/F_i, 2.4/F_i)``, ``F_i`` the fan-in of
the unit (Appendix C); biases zero.

Input size (our choice): the paper feeds 32x32 images, the 28x28 MNIST digits centred in a 32x32
field, so that stroke ends can reach the centre of C3's receptive fields. ``input_size=32`` is that
network; ``input_size=28`` pads C1 by 2 pixels on each side, which is the same computation as
padding a 28x28 image to 32x32 with zeros, so both give the same 61,706 parameters (10 classes).

Departures from the paper, as in the standard modern definition: C3 connects every S2 map (the
paper's Table I connects each C3 map to a subset, to break symmetry and save parameters);
S2/S4 are parameter-free average pooling (the paper multiplies by a trainable coefficient and adds
a trainable bias); the output layer is a linear layer giving logits instead of Euclidean RBF units.
"""

from __future__ import annotations

import torch
from torch import nn

SCALED_TANH_A = 1.7159
SCALED_TANH_S = 2.0 / 3.0


class ScaledTanh(nn.Module):
    """``f(a) = 1.7159 * tanh(2/3 * a)`` (LeCun et al. 1998, Appendix A): ``f(1) ~ 1, f(-1) ~ -1``.

    Shape-preserving. Example: ``ScaledTanh()(torch.tensor([1.0])) -> tensor([1.0000])``.
    """

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return SCALED_TANH_A * torch.tanh(SCALED_TANH_S * a)


class LeNet5(nn.Module):
    """LeNet-5: ``(N, in_channels, input_size, input_size)`` -> logits ``(N, num_classes)``.

    Layer names are the paper's (c1, s2, c3, s4, c5, f6, output).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 32):
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(
                f"LeNet-5 takes 32x32 inputs (or 28x28, padded by 2); got input_size={input_size}"
            )
        self.c1 = nn.Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2)
        self.act1 = ScaledTanh()
        self.s2 = nn.AvgPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.act3 = ScaledTanh()
        self.s4 = nn.AvgPool2d(2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.act5 = ScaledTanh()
        self.flatten = nn.Flatten()
        self.f6 = nn.Linear(120, 84)
        self.act6 = ScaledTanh()
        self.output = nn.Linear(84, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                bound = 2.4 / fan_in
                nn.init.uniform_(module.weight, -bound, bound)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(self.act1(self.c1(x)))
        x = self.s4(self.act3(self.c3(x)))
        x = self.flatten(self.act5(self.c5(x)))
        return self.output(self.act6(self.f6(x)))


def lenet5(num_classes: int = 10, in_channels: int = 1, input_size: int = 32) -> LeNet5:
    """LeNet-5 for ``(N, in_channels, input_size, input_size)`` images, ``input_size`` 32 or 28."""
    return LeNet5(num_classes, in_channels, input_size)
