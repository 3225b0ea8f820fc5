"""Module 2's critical checkpoints, each proven by a number.

``dlf checkpoints`` runs the list ``CHECKPOINTS``; each check returns ``Evidence(passed, figure)``.
The convolution, receptive-field and batch-norm checks work on small synthetic arrays. The
skip-connections check builds four 56-layer nets (plain and residual, with and without batch
norm) in float64 and backpropagates one batch of 32 synthetic images through each. The transfer
check trains two tiny CNNs on a few thousand MNIST digits (nothing is cached between runs).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from dlf.cnn.data import image_tensors
from dlf.cnn.models.resnet_cifar import resnet_cifar
from dlf.cnn.models.vgg import VGG_STAGES, vgg_features
from dlf.cnn.receptive_field import measure_receptive_field, receptive_field
from dlf.cnn.recipes.resnet_depth import layer_gradient_norms, weighted_layers
from dlf.cnn.recipes.transfer import class_subset, train_on_target
from dlf.cnn.small_nets import small_resnet
from dlf.cnn.train import TrainConfig, fit
from dlf.cnn.transfer import transfer_models
from dlf.path import Checkpoint, Evidence
from dlf.scratch.layers import BatchNorm2d, Conv2d

# (N, C_in, H, W, C_out, kernel, stride, padding)
CONV_CASES = (
    (2, 3, 7, 7, 4, 3, 1, 1),
    (3, 2, 9, 8, 5, (3, 2), 2, 0),
    (1, 4, 10, 10, 3, 5, 3, 2),
    (2, 1, 6, 7, 2, 2, (2, 1), (1, 0)),
)
CONV_TOLERANCE = 1e-10


def conv_max_difference(case: tuple, rng: np.random.Generator) -> float:
    """Max |scratch - torch| over the output and the gradients of x, W and b (float64).

    The upstream gradient is random, so every output element's gradient path is exercised.
    """
    n, c, h, w, out, k, s, p = case
    conv = Conv2d(c, out, k, stride=s, padding=p, dtype=np.float64, rng=rng)
    conv.params["b"][...] = rng.standard_normal(out)
    x = rng.standard_normal((n, c, h, w))
    y = conv.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = conv.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(conv.params["W"], requires_grad=True)
    bt = torch.tensor(conv.params["b"], requires_grad=True)
    yt = F.conv2d(xt, wt, bt, stride=s, padding=p)
    yt.backward(torch.tensor(dy))
    pairs = ((y, yt), (dx, xt.grad), (conv.grads["W"], wt.grad), (conv.grads["b"], bt.grad))
    return max(float(np.abs(a - b.detach().numpy()).max()) for a, b in pairs)


def check_conv_equals_torch() -> Evidence:
    """Scratch Conv2d = ``torch.nn.functional.conv2d``: output and all gradients, float64."""
    rng = np.random.default_rng(0)
    worst = max(conv_max_difference(case, rng) for case in CONV_CASES)
    return Evidence(
        worst < CONV_TOLERANCE,
        f"max |scratch - torch| {worst:.1e} over output, dx, dW, db of {len(CONV_CASES)} "
        f"shapes with strides 1-3, paddings 0-2 (tolerance {CONV_TOLERANCE:g})",
    )


def check_vgg_receptive_field() -> Evidence:
    """VGG-16's conv stack: the formula's receptive field after every pooling = autograd's."""
    layers = list(vgg_features(VGG_STAGES[16], 1, batch_norm=False))
    pools = [i for i, layer in enumerate(layers) if isinstance(layer, torch.nn.MaxPool2d)]
    agree, fields = True, []
    for end in pools:
        stack = layers[: end + 1]
        row = receptive_field(stack)[-1]
        size = 2 * row.receptive_field + 4 * row.jump
        out = receptive_field(stack, size)[-1].size
        measured = measure_receptive_field(stack, size, out // 2)
        centre = row.start + (out // 2) * row.jump
        half = (row.receptive_field - 1) / 2
        agree &= measured.extent == row.receptive_field
        agree &= (measured.first, measured.last) == (centre - half, centre + half)
        fields.append(f"{row.receptive_field}/{measured.extent}")
    return Evidence(
        agree,
        "VGG-16 conv stack, formula/measured receptive field after each pool: " + ", ".join(fields),
    )


def check_plain_gradient_at_init() -> Evidence:
    """At initialisation, plain-56's first-layer gradient norm vs ResNet-56's (same weights).

    Without normalisation, with the initialisation ``nn.Conv2d`` gives (weight variance
    ``1 / (3 fan_in)``), every plain layer shrinks the signal, so after 55 of them the output,
    and with it every gradient, has all but vanished; each residual block adds its branch to an
    identity, which carries signal and gradient through. The paper's nets (batch norm, He
    initialisation) keep the plain net's signal alive, and there its first-layer gradient is
    orders of magnitude ABOVE the residual net's: it grows toward the input (Yang et al., 2019).
    In float64 so that the vanished gradient is a number, not 0.
    """
    x = torch.randn(32, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(1))
    norms = {}
    for batch_norm in (False, True):
        for plain in (True, False):
            torch.manual_seed(0)
            model = resnet_cifar(56, plain, 10, 1, batch_norm=batch_norm).double()
            if not batch_norm:
                for layer, _ in weighted_layers(model):
                    model.get_submodule(layer).reset_parameters()
            norms[batch_norm, plain] = layer_gradient_norms(model, x, y)
    ratio = {bn: norms[bn, True][0] / norms[bn, False][0] for bn in (False, True)}
    return Evidence(
        ratio[False] <= 1e-3 and ratio[True] >= 100,
        f"first-layer |grad| plain-56 / ResNet-56 without batch norm (nn.Conv2d's "
        f"initialisation): {ratio[False]:.1e} (<= 1e-3 required; plain "
        f"{norms[False, True][0]:.1e}, residual {norms[False, False][0]:.1e}); with batch norm "
        f"(the paper's nets): {ratio[True]:.0f} (>= 100 required; first / last conv layer: "
        f"plain {norms[True, True][0] / norms[True, True][-2]:.0f}, residual "
        f"{norms[True, False][0] / norms[True, False][-2]:.0f})",
    )


def check_batchnorm_modes() -> Evidence:
    """Scratch BatchNorm2d: per-channel mean 0, std 1 in training; running statistics in eval."""
    rng = np.random.default_rng(0)
    bn = BatchNorm2d(3, dtype=np.float64)
    shift, scale = np.array([5.0, -2.0, 0.5]), np.array([3.0, 0.2, 10.0])
    batches = [rng.standard_normal((16, 3, 5, 5)) * scale[:, None, None] + shift[:, None, None]
               for _ in range(30)]  # fmt: skip
    for x in batches:
        y = bn.forward(x)
    mean, std = y.mean(axis=(0, 2, 3)), y.std(axis=(0, 2, 3))
    train_error = max(np.abs(mean).max(), np.abs(std - 1).max())
    bn.eval()
    x = batches[0]
    running_mean, running_var = bn.buffers["running_mean"], bn.buffers["running_var"]
    expected = F.batch_norm(
        torch.tensor(x), torch.tensor(running_mean), torch.tensor(running_var), training=False
    ).numpy()
    eval_error = float(np.abs(bn.forward(x) - expected).max())
    uses_running = float(np.abs(running_mean - shift).max())
    return Evidence(
        train_error < 1e-3 and eval_error < 1e-10 and uses_running < 0.5,
        f"training: max |channel mean|, |std - 1| = {train_error:.1e}; eval: max |y - "
        f"(x - running mean) / sqrt(running var + eps)| = {eval_error:.1e}, running means "
        f"{np.round(running_mean, 2).tolist()} (true {shift.tolist()})",
    )


def check_transfer_beats_scratch() -> Evidence:
    """A tiny ResNet pretrained on MNIST 0-4, fine-tuned on 10 labels per digit 5-9, vs scratch.

    Same architecture, target set, steps and seed; only the starting weights differ.
    """
    torch.manual_seed(0)
    data = image_tensors("mnist", 0.0, train_subset=4000, test_subset=1000, seed=0)
    source = class_subset(data, (0, 1, 2, 3, 4))
    target = class_subset(data, (5, 6, 7, 8, 9), per_class=10, seed=0)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05, weight_decay=0.0)

    def net() -> torch.nn.Module:
        return small_resnet(5, 1, widths=(8, 16, 32), stem=8)

    pretrained = net()
    source_accuracy = fit(pretrained, source, config).final["test"].accuracy
    torch.manual_seed(1)
    models = transfer_models(pretrained, net(), 5)
    del models["linear probe"]
    target_config = dataclasses.replace(config, epochs=10, batch_size=25)
    results = train_on_target(models, target, dict.fromkeys(models, target_config))
    acc = {m: r.final["test"].accuracy for m, r in results.items()}
    return Evidence(
        acc["fine-tune"] >= acc["scratch"] + 0.1,
        f"test accuracy on digits 5-9 after 20 steps on 50 labels: fine-tuned "
        f"{acc['fine-tune']:.1%}, scratch {acc['scratch']:.1%} (>= 10 points better required; "
        f"pretrained on {len(source.y_train)} digits 0-4 for 2 epochs: {source_accuracy:.1%})",
    )


CHECKPOINTS = [
    Checkpoint(2, "convolution", "scratch convolution equals torch's", check_conv_equals_torch),
    Checkpoint(
        2,
        "receptive field",
        "receptive fields of a VGG stack match the formula",
        check_vgg_receptive_field,
    ),
    Checkpoint(
        2,
        "skip connections",
        "at initialisation the first layer's gradient norm of a deep plain net is orders of "
        "magnitude below its residual twin's (without batch norm; with it, above)",
        check_plain_gradient_at_init,
    ),
    Checkpoint(
        2,
        "batch norm",
        "batch norm normalises in training and uses running statistics in eval",
        check_batchnorm_modes,
    ),
    Checkpoint(
        2,
        "transfer",
        "transfer beats scratch on the small target set",
        check_transfer_beats_scratch,
    ),
]
