"""Every residual path carries its input: with the residual branch F zeroed, a block is
``relu(shortcut(x))`` (identity, projection or zero-padding shortcut), and a plain block is 0.

Zeroing the last batch norm of the branch (gamma = beta = 0) makes ``F(x) = 0`` exactly, so a
block that dropped or changed its shortcut gives a different output, whatever its weights.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlf.cnn.models.resnet import BasicBlock, Bottleneck, ZeroPadShortcut, make_stage
from dlf.cnn.models.resnet_cifar import resnet_cifar
from dlf.cnn.small_nets import small_resnet


def last_batch_norm(block: nn.Module) -> nn.BatchNorm2d:
    """The batch norm that closes the residual branch: ``bn2`` of a BasicBlock, ``bn3`` else."""
    return block.bn2 if isinstance(block, BasicBlock) else block.bn3


def zero_residual_branches(model: nn.Module) -> list[nn.Module]:
    """Set ``F(x) = 0`` in every residual block of ``model``; returns the blocks."""
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock | Bottleneck)]
    with torch.no_grad():
        for block in blocks:
            last_batch_norm(block).weight.zero_()
            last_batch_norm(block).bias.zero_()
    return blocks


def shortcut(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return x if block.downsample is None else block.downsample(x)


# (block, in_channels, width, stride, shortcut kind): identity, projection and zero-padding paths
STAGES = [
    (BasicBlock, 8, 8, 1, "projection"),  # shapes match: identity shortcuts only
    (BasicBlock, 8, 16, 2, "projection"),
    (BasicBlock, 8, 16, 2, "zero_pad"),
    (Bottleneck, 16, 4, 1, "projection"),  # 16 = 4 * 4: identity
    (Bottleneck, 8, 4, 1, "projection"),  # widens 8 -> 16 at stride 1
    (Bottleneck, 16, 8, 2, "projection"),
]


@pytest.mark.parametrize(("block", "c_in", "width", "stride", "kind"), STAGES)
def test_a_stage_with_zeroed_branches_is_relu_of_its_shortcuts(block, c_in, width, stride, kind):
    torch.manual_seed(0)
    stage = make_stage(block, c_in, width, 2, stride, kind).eval()
    blocks = zero_residual_branches(stage)
    assert len(blocks) == 2
    x = torch.randn(2, c_in, 6, 6)
    first = blocks[0]
    if stride != 1 or c_in != width * block.expansion:
        expected_type = ZeroPadShortcut if kind == "zero_pad" else nn.Sequential
        assert isinstance(first.downsample, expected_type)
    expected = torch.relu(shortcut(first, x))  # the second block: relu(relu(.)) = relu(.)
    torch.testing.assert_close(stage(x), expected, rtol=0, atol=0)
    assert stage(x).abs().sum() > 0  # the shortcut carried something


PLAIN_STAGES = [(BasicBlock, 8, 16, 2), (Bottleneck, 16, 8, 2)]


@pytest.mark.parametrize(("block", "c_in", "width", "stride"), PLAIN_STAGES)
def test_a_plain_stage_has_no_shortcut(block, c_in, width, stride):
    torch.manual_seed(0)
    stage = make_stage(block, c_in, width, 2, stride, "none").eval()
    assert all(not b.residual and b.downsample is None for b in stage)
    zero_residual_branches(stage)
    x = torch.randn(2, c_in, 6, 6)
    out = stage(x)
    assert out.shape == (2, width * block.expansion, 3, 3)
    torch.testing.assert_close(out, torch.zeros_like(out), rtol=0, atol=0)


@pytest.mark.parametrize(("block", "channels", "width"), [(BasicBlock, 8, 8), (Bottleneck, 16, 4)])
def test_a_residual_block_adds_its_input_to_its_plain_twin(block, channels, width):
    """Same weights, branch not zeroed: ``relu(F(x) + x)`` against ``F(x)`` of the plain twin."""
    torch.manual_seed(0)
    residual = block(channels, width).eval()
    plain = block(channels, width, residual=False).eval()
    plain.load_state_dict(residual.state_dict())
    final = plain.relu2 if block is BasicBlock else plain.relu3
    captured = []
    final.register_forward_pre_hook(lambda module, args: captured.append(args[0].clone()))
    x = torch.randn(2, channels, 5, 5)
    plain(x)
    # float32: the same products summed in the same order, then one addition
    torch.testing.assert_close(residual(x), torch.relu(captured[0] + x), rtol=0, atol=0)


@pytest.mark.parametrize("plain", [False, True])
def test_cifar_resnet_with_zeroed_branches_keeps_or_loses_its_input(plain):
    """ResNet-8 (zero-padding shortcuts): a zeroed branch leaves the stem's map, subsampled and
    padded, to the classifier; its plain twin then hands the classifier zeros."""
    torch.manual_seed(0)
    model = resnet_cifar(8, plain, 10, 1).eval()
    zero_residual_branches(model)
    x = torch.randn(2, 1, 28, 28)
    features = model.forward_features(x)
    if plain:
        assert torch.all(features == 0)
    else:
        stem = model.relu(model.bn1(model.conv1(x)))
        expected = ZeroPadShortcut(16, 64, 4)(stem)
        torch.testing.assert_close(features, expected, rtol=0, atol=0)


def test_small_resnet_with_zeroed_branches_is_its_projections():
    torch.manual_seed(0)
    model = small_resnet(10, 1, widths=(4, 8), blocks=(1, 1), stem=4).eval()
    zero_residual_branches(model)
    x = torch.randn(2, 1, 12, 12)
    stem = model.relu(model.bn1(model.conv1(x)))
    expected = torch.relu(model.layer2[0].downsample(torch.relu(model.layer1[0].downsample(stem))))
    torch.testing.assert_close(model.layer2(model.layer1(stem)), expected, rtol=0, atol=0)
