"""Weight initialisation shared by the ImageNet- and CIFAR-shaped nets.

He et al. (2015), "Delving Deep into Rectifiers", eq. (14): for a convolution followed by a
ReLU, draw ``W ~ N(0, 2 / n)`` so that the variance of the responses neither grows nor decays with
depth. We use the backward-pass case of the paper, ``n = k * k * c_out`` (Section 2.2: either
choice keeps both passes stable). Batch-norm layers start as the identity (gamma = 1, beta = 0).
"""

from __future__ import annotations

from torch import nn


def he_normal_(model: nn.Module) -> nn.Module:
    """Every ``Conv2d`` of ``model`` to ``N(0, 2 / (k*k*c_out))``, biases 0; batch norm to identity.

    Linear layers are left alone: each paper states its own rule for them. Returns ``model``.
    Example: a 3x3 conv with 64 output channels gets ``std = sqrt(2 / 576) = 0.0589``.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def normal_linear_(model: nn.Module, std: float = 0.01) -> nn.Module:
    """Initialise every ``Linear`` of ``model`` with ``N(0, std^2)`` and zero biases.

    The rule of AlexNet (Krizhevsky et al., 2012, Section 5) and VGG (Simonyan & Zisserman, 2015,
    Section 3.1) for their fully connected layers, with ``std = 0.01``. Returns ``model``.
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, std)
            nn.init.zeros_(module.bias)
    return model
