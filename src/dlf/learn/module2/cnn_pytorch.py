"""Exercise ``cnn-pytorch``: a small CNN for MNIST in PyTorch, trained briefly by the grader.

The grader owns the training recipe: :func:`dlf.cnn.train.fit` (the Module 2 training loop) on a
seeded subset of MNIST loaded by :func:`dlf.cnn.data.image_tensors`, with Adam and no
augmentation, then the accuracy on held-out test images. ``dlf run cnn-mnist workspace=DIR``
builds its model with the learner's ``build_cnn(num_classes)``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dlf.data import DataError
from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, one_torch_thread
from dlf.learn.source import fill_bodies
from dlf.runs.diverged import Diverged

if TYPE_CHECKING:  # torch is imported when grading, so that listing the exercises stays fast
    import torch
    from torch import nn

STUB = '''"""Exercise cnn-pytorch: a small convolutional network for MNIST digits, in PyTorch.

Build the network; the grader trains it briefly with a fixed recipe and measures its accuracy.
Check with `dlf learn check cnn-pytorch`; then `dlf run cnn-mnist --quick workspace=DIR` trains
your build_cnn on MNIST with the full recipe.
"""

import torch
from torch import nn


def build_cnn(num_classes=10):
    """A CNN from (N, 1, 28, 28) images to logits (N, num_classes).

    A plan that works (LeNet's, with batch norm and ReLU), as one nn.Sequential:

        [Conv2d 3x3 (padding 1) -> BatchNorm2d -> ReLU -> MaxPool2d 2x2] x 2   28 -> 14 -> 7
        -> Flatten -> Linear(channels * 7 * 7, num_classes)

    with, e.g., 8 then 16 channels. Return raw scores (logits): no softmax at the end, since
    nn.CrossEntropyLoss applies log-softmax itself. Keep it small: it trains on one CPU core.
    Shapes: num_classes an int -> an nn.Module mapping (N, 1, 28, 28) float32 to (N, num_classes).
    Checked: an nn.Module with a Conv2d layer; output shapes on batches of 1 and 5 (eval mode)
    and for num_classes=3; no softmax at the end; then the grader trains it (seed 0, 2000
    MNIST training images, 2 epochs, batches of 32, Adam lr 1e-3) and requires a test accuracy
    >= 90% on 500 held-out test images.
    """
    raise NotImplementedError
'''

BODY = """
return nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1),
    nn.BatchNorm2d(8),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1),
    nn.BatchNorm2d(16),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 7 * 7, num_classes),
)
"""

SOLUTION = fill_bodies(STUB, {"build_cnn": BODY})

# The grader's training recipe. Measured on the 500 test images: the solution 94.0% (94-96%
# with seeds 0-3; 95.6-96.0% with 16 and 32 channels), LeNet-5 with ReLU 93.2%, a linear
# classifier on the pixels 90.4% (refused: no Conv2d), sigmoid activations 17-79%, a net whose
# weights do not learn 9%.
TRAIN_IMAGES, TEST_IMAGES, SEED = 2000, 500, 0
RECIPE = dict(  # a dlf.cnn.train.TrainConfig
    epochs=2,
    batch_size=32,
    optimizer="adamw",
    lr=1e-3,
    weight_decay=0.0,
    schedule="constant",
    seed=SEED,
)
THRESHOLD = 0.90
CHANCE = 0.2  # below this the network learned (almost) nothing: 10 classes give 10%


def _outputs(g: Grader, model: nn.Module, x: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """``model(x)`` in eval mode without gradients, or None after a failed shape check."""
    import torch

    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as err:
        error = g.error(err, "your model's forward")
        if "mat1 and mat2" in str(err):
            error.args = (f"{error}\n    likely mistake: {_before_linear(model, x)}",)
        raise error from None
    shape = tuple(getattr(out, "shape", ()))
    want = (len(x), num_classes)
    diagnosis = ""
    if len(shape) > 2:
        diagnosis = "flatten the feature maps (nn.Flatten()) before the last nn.Linear"
    elif len(shape) == 2 and shape[0] == len(x):
        diagnosis = "the last nn.Linear must have num_classes outputs: nn.Linear(..., num_classes)"
    ok = g.check(
        f"output shape for input {tuple(x.shape)}",
        isinstance(out, torch.Tensor) and shape == want,
        f"got {type(out).__name__} {shape}, expected a tensor {want}",
        diagnosis,
    )
    return out if ok else None


def _before_linear(model: nn.Module, x: torch.Tensor) -> str:
    """What reaches the first nn.Linear of a Sequential, to fix its in_features or a Flatten."""
    import torch
    from torch import nn

    advice = "nn.Flatten() must come before the first nn.Linear, whose in_features is "
    if not isinstance(model, nn.Sequential):
        return advice + "channels * height * width of the last feature map"
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                if x.dim() != 2:
                    return f"the input of the first nn.Linear has shape {tuple(x.shape)}: " + (
                        advice + "the product of its last three sizes"
                    )
                return (
                    f"the first nn.Linear gets {x.shape[1]} features (shape {tuple(x.shape)}) "
                    f"but has in_features={layer.in_features}"
                )
            try:
                x = layer(x)
            except Exception:
                break
    return advice + "channels * height * width of the last feature map"


def _logits_verdict(out: torch.Tensor) -> tuple[bool, str, str]:
    """(passed, detail, diagnosis): logits of an untrained net on noise take both signs."""
    import torch

    if not bool(torch.all(out >= 0)):
        return True, "", ""
    if torch.allclose(out.sum(dim=1), torch.ones(len(out)), atol=1e-4):
        return (
            False,
            "every row of the output sums to 1",
            "don't apply softmax: nn.CrossEntropyLoss takes raw logits (it applies log-softmax "
            "itself); remove the final nn.Softmax",
        )
    if bool(torch.all(out > 0)) and bool(torch.all(out < 1)):
        return (
            False,
            "every output lies in (0, 1)",
            "a sigmoid at the end: return the last nn.Linear's raw scores (logits)",
        )
    return (
        False,
        "no output is negative",
        "an activation (ReLU?) after the last nn.Linear: logits must be free to be negative",
    )


def _build(g: Grader, build, num_classes: int) -> nn.Module | None:
    from torch import nn

    model = g.call(build, num_classes)
    if not g.check(
        f"build_cnn({num_classes}) returns an nn.Module",
        isinstance(model, nn.Module),
        f"got the class {model.__name__}"
        if isinstance(model, type)
        else f"got {type(model).__name__}",
        "return the network, e.g. nn.Sequential(nn.Conv2d(...), ...), not its output or a class",
    ):
        return None
    return model


def grade(g: Grader) -> None:
    build = g.function("build_cnn")
    with one_torch_thread():
        _grade(g, build)


def _grade(g: Grader, build) -> None:
    import torch
    from torch import nn

    from dlf.cnn.data import image_tensors
    from dlf.cnn.train import TrainConfig, fit

    torch.manual_seed(SEED)
    with g.case("build_cnn(10)"):
        model = _build(g, build, 10)
        if model is None:
            return
        g.check(
            "the model has a convolutional layer",
            any(isinstance(m, nn.Conv2d) for m in model.modules()),
            "no nn.Conv2d among its modules",
            "this is a CNN: start with nn.Conv2d(1, channels, 3, padding=1)",
        )
        g.check(
            "the model has parameters that learn",
            any(p.requires_grad for p in model.parameters()),
            "no parameter has requires_grad=True",
            "the layers are frozen (requires_grad_(False)) or built outside the model: create "
            "them inside the nn.Sequential or as attributes of your nn.Module",
        )
        x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        if _outputs(g, model, x[:1], 10) is None:
            return
        out = _outputs(g, model, x, 10)
        if out is None:
            return
        g.check("returns logits, not probabilities", *_logits_verdict(out))
    with g.case("build_cnn(3)"):
        three = _build(g, build, 3)
        if three is None or _outputs(g, three, x, 3) is None:
            return
    if not all(c.passed for c in g.checks):
        return  # train only a network of the right shape

    try:
        data = image_tensors("mnist", 0.0, TRAIN_IMAGES, TEST_IMAGES, SEED)
    except DataError as err:
        g.check("MNIST is available", False, str(err).splitlines()[0])
        return
    on = (
        f"{TRAIN_IMAGES} MNIST training images, {RECIPE['epochs']} epochs, batches of "
        f"{RECIPE['batch_size']}, Adam lr {RECIPE['lr']:g}, seed {SEED}"
    )
    with g.case(on):
        torch.manual_seed(SEED)
        model = g.call(build, 10)
        start = time.perf_counter()
        try:
            result = fit(model, data, TrainConfig(**RECIPE))
        except Diverged as err:
            g.check(
                "training",
                False,
                str(err).split(";")[0],
                "the loss became inf or nan: a log of a softmax that reached 0 (a softmax in "
                "the model?), or a layer that blows up",
            )
            return
        except Exception as err:
            raise g.error(err, "training your model") from None
        seconds = time.perf_counter() - start
        accuracy = result.final["test"].accuracy
        diagnosis = ""
        if accuracy < CHANCE:
            diagnosis = (
                "the loss did not fall: an activation missing, or a layer that does not learn "
                "(requires_grad=False, a layer built but not used in forward); sigmoid "
                "activations also learn far slower than ReLU"
            )
        elif accuracy < THRESHOLD:
            diagnosis = (
                "the network learns, but too little in this short training: use ReLU, batch "
                "norm after each conv, and enough channels (e.g. 8 then 16)"
            )
        g.check(
            f"test accuracy on {TEST_IMAGES} held-out images >= {THRESHOLD:.0%}",
            accuracy >= THRESHOLD,
            f"got {accuracy:.1%} after {seconds:.1f} s of training "
            f"(mean training loss of the last epoch {result.history[-1]['train_loss']:.3f})",
            diagnosis,
        )


EXERCISE = Exercise(
    name="cnn-pytorch",
    module=2,
    number=4,
    title="A small CNN for MNIST in PyTorch",
    concept="A CNN trained from scratch on MNIST",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Write it as one nn.Sequential: the layers run in the order you list them, and "
        "PyTorch creates and initialises every weight for you.",
        "A stage is nn.Conv2d(c_in, c_out, 3, padding=1) -> nn.BatchNorm2d(c_out) -> nn.ReLU() "
        "-> nn.MaxPool2d(2): padding 1 keeps 28x28, the pool halves it to 14x14.",
        "Two stages (1 -> 8 -> 16 channels) leave 16 maps of 7x7: nn.Flatten(), then "
        "nn.Linear(16 * 7 * 7, num_classes).",
        "End with the Linear layer: no nn.Softmax, since nn.CrossEntropyLoss takes raw logits. "
        "Check the shapes with model(torch.zeros(5, 1, 28, 28)).shape == (5, num_classes).",
    ),
    timeout=120.0,
)
