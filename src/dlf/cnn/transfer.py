"""Transfer learning: a pretrained net given a new head, then trained three ways.

A net pretrained on a source task keeps its layers; its classifier, the LAST ``nn.Linear``
``W in R^{K_source x d}``, is replaced by a fresh ``W' in R^{K x d}`` for the target's ``K``
classes. Then

- linear probe: every other weight frozen (no gradient, batch norm on its running statistics),
  only ``W'`` trained: logistic regression on the pretrained features;
- fine-tune: every weight trained, starting from the pretrained ones;
- scratch (the baseline): a fresh net of the same architecture, every weight trained.

``GreyToRGB`` and ``load_resnet18`` let a torchvision-format ResNet-18 file read grey images.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dlf.cnn.models.resnet import ResNet, resnet18

METHODS = ("scratch", "linear probe", "fine-tune")


def head(model: nn.Module) -> nn.Linear:
    """The last ``nn.Linear`` of ``model`` (its classifier)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the LAST ``nn.Linear`` of ``model`` for a fresh ``Linear(d, num_classes)``, in place.

    Works for any model whose classifier is its last registered Linear (``small_cnn``'s ``fc2``,
    ResNet's ``fc``). Returns ``model``. Example: a ResNet-18 with ``fc`` 512 -> 1000 becomes
    512 -> 5.
    """
    name, old = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = model.get_submodule(name.rpartition(".")[0])
    setattr(parent, name.rpartition(".")[2], nn.Linear(old.in_features, num_classes))
    return model


def freeze_features(model: nn.Module) -> nn.Module:
    """Linear probing: every parameter but the classifier's frozen, and the frozen layers kept in
    eval mode (batch norm on its running statistics, dropout off) even when ``model.train()`` is
    called. Returns ``model``; only ``head(model)`` has ``requires_grad``.
    """
    classifier = head(model)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in classifier.parameters():
        p.requires_grad_(True)
    frozen = [m for m in model.modules() if not list(m.children()) and m is not classifier]

    def keep_frozen_in_eval(module: nn.Module, _inputs: tuple) -> None:
        if module.training:
            module.eval()

    for m in frozen:
        m.register_forward_pre_hook(keep_frozen_in_eval)
    return model


def trainable(model: nn.Module) -> int:
    """Number of parameters with ``requires_grad``. Example: a frozen net with a 64 -> 5 head
    -> ``64 * 5 + 5 = 325``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def transfer_models(pretrained: nn.Module, fresh: nn.Module, num_classes: int) -> dict:
    """``{method: model}`` for the three ``METHODS``, each with a new ``num_classes``-way head;
    the two arguments are left untouched.

    The scratch model is a copy of ``fresh`` (an untrained net of the same architecture); the
    linear probe and the fine-tuned model are copies of ``pretrained``.
    """
    probe = freeze_features(replace_head(copy.deepcopy(pretrained), num_classes))
    return {
        "scratch": replace_head(copy.deepcopy(fresh), num_classes),
        "linear probe": probe,
        "fine-tune": replace_head(copy.deepcopy(pretrained), num_classes),
    }


class GreyToRGB(nn.Module):
    """``(N, 1 or 3, H, W)`` -> ``(N, 3, size, size)``: repeat a grey channel, resize bilinearly.

    Lets a net pretrained on colour images of another size read small grey images.
    """

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)


def load_resnet18(path: str | Path) -> ResNet:
    """Our ``resnet18`` with the weights of a torchvision-format ResNet-18 state_dict file.

    ``.safetensors`` files are read with safetensors, anything else with
    ``torch.load(path, weights_only=True)``. The key check is strict; the number of classes is
    read from ``fc.weight``. Raises ValueError naming the missing and unexpected keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found; pass weights=PATH to a file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise ValueError(
            f"{path} is not a ResNet-18 state_dict (no 'fc.weight'); save one with "
            "torch.save(torchvision.models.resnet18(weights=...).state_dict(), PATH)"
        )
    model = resnet18(num_classes=state["fc.weight"].shape[0])
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(
            f"{path} is not in torchvision's ResNet-18 format: missing keys {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''}"
        )
    model.load_state_dict(state, strict=True)
    return model
