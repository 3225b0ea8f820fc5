"""Exercise ``receptive-field``: the receptive field and jump after each layer of a conv stack.

Reference: :func:`dlf.cnn.receptive_field.receptive_field`, run on an ``nn.Sequential`` of
``nn.Conv2d`` built from the exercise's ``(kernel, stride, padding)`` tuples. Its contract (torch
modules in, table rows out) differs from the exercise's, so the solution's body is written here.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies

STUB = '''"""Exercise receptive-field: how much of the input one feature of a deep layer sees.

Walk a stack of conv/pool layers from the input up, keeping two numbers per layer. Check with
`dlf learn check receptive-field` after each save; `dlf receptive-field vgg11` prints the same
numbers (columns jump and RF) for a whole model of dlf.
"""


def receptive_field(layers):
    """The receptive field r and the jump j after each layer of a stack, from the input up.

    r: the side of the input patch that one feature of the layer sees.
    j: the distance, in input pixels, between two neighbouring features of the layer.
    Before the first layer (the input itself) r = 1 and j = 1; a layer with kernel k and
    stride s turns (r_in, j_in) into

        r_out = r_in + (k - 1) * j_in
        j_out = j_in * s

    Padding moves where a field is centred, not how wide it is.
    Shapes: layers, a list of (kernel, stride, padding) tuples of ints (a conv or a pool layer
    each) -> a list of (r, j) tuples of ints, one per layer ([] for no layer).
    Checked: against dlf.cnn.receptive_field on a VGG-like stack of 3x3 convs and 2x2 pools,
    strided stacks (ResNet's and AlexNet's first layers), a single layer, and an empty stack.
    """
    raise NotImplementedError
'''

BODY = """
r, j = 1, 1
fields = []
for kernel, stride, _padding in layers:
    r = r + (kernel - 1) * j
    j = j * stride
    fields.append((r, j))
return fields
"""

SOLUTION = fill_bodies(STUB, {"receptive_field": BODY})

VGG = [(3, 1, 1), (3, 1, 1), (2, 2, 0)] * 2 + [(3, 1, 1)] * 3 + [(2, 2, 0)]
STACKS = (
    ("VGG-like: (conv 3x3 x2, pool 2x2) x2, conv 3x3 x3, pool 2x2", VGG),
    ("ResNet stem and strided 3x3 convs", [(7, 2, 3), (3, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 1)]),
    ("AlexNet's first layers", [(11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1)]),
    ("pools only", [(2, 2, 0), (3, 3, 0), (2, 2, 0)]),
    ("a single 5x5 conv", [(5, 1, 2)]),
    ("a single strided conv, then a 1x1 conv", [(3, 2, 1), (1, 1, 0)]),
)


def reference(layers) -> np.ndarray:
    """(L, 2) array of (r, j) after each layer, from dlf.cnn.receptive_field."""
    from torch import nn  # imported when grading, so that listing the exercises stays fast

    from dlf.cnn.receptive_field import receptive_field as cnn_receptive_field

    if not layers:
        return np.zeros((0, 2))
    model = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, padding=p) for k, s, p in layers])
    rows = cnn_receptive_field(model)[1:]  # the first row is the input
    return np.array([(row.receptive_field, row.jump) for row in rows], dtype=float)


def _walk(layers, step, r: int = 1, j: int = 1) -> np.ndarray:
    """(r, j) after each layer when ``step(r, j, k, s, p)`` gives the next (r, j)."""
    out = []
    for k, s, p in layers:
        r, j = step(r, j, k, s, p)
        out.append((r, j))
    return np.array(out, dtype=float).reshape(-1, 2)


def _right(r, j, k, s, p):
    return r + (k - 1) * j, j * s


STRIDE_IN_R = (
    "the stride is multiplied into r: r_out = r_in + (k - 1) * j_in; a layer's stride does not "
    "widen its own field, it only spaces out its features (j_out = j_in * s)"
)
MISTAKES = (  # (diagnosis, step, r and j before the first layer)
    (
        "the jump is not accumulated: r grows by (k - 1) * j_in, where j_in (the product of "
        "the strides below) is the distance in input pixels between neighbouring features",
        lambda r, j, k, s, p: (r + k - 1, j * s),
        (1, 1),
    ),
    (
        "the jump is not accumulated: j_out = j_in * s (the product of all strides so far), "
        "and r grows by (k - 1) * j_in",
        lambda r, j, k, s, p: (r + k - 1, s),
        (1, 1),
    ),
    (
        "the jump is not accumulated: j_out = j_in * s, the product of all strides so far",
        lambda r, j, k, s, p: (r + (k - 1) * j, s),
        (1, 1),
    ),
    (
        "the jump is updated before the field: r_out = r_in + (k - 1) * j_in uses the jump "
        "BEFORE this layer's stride; compute r, then j",
        lambda r, j, k, s, p: (r + (k - 1) * j * s, j * s),
        (1, 1),
    ),
    (STRIDE_IN_R, lambda r, j, k, s, p: ((r + (k - 1) * j) * s, j * s), (1, 1)),
    (STRIDE_IN_R, lambda r, j, k, s, p: (r * s + (k - 1) * j, j * s), (1, 1)),
    (STRIDE_IN_R, lambda r, j, k, s, p: (r * s + k - 1, j * s), (1, 1)),
    (
        STRIDE_IN_R + " (r = s*r + k - s walks from the top layer down, not from the input up)",
        lambda r, j, k, s, p: (s * r + k - s, j * s),
        (1, 1),
    ),
    (
        "the padding is counted: padding moves where a field is centred, not how wide it is",
        lambda r, j, k, s, p: (r + (k - 1 + 2 * p) * j, j * s),
        (1, 1),
    ),
    (
        "the walk starts from r = 0: before the first layer, one input pixel sees itself (r = 1)",
        _right,
        (0, 1),
    ),
    (
        "the walk starts from j = 0: before the first layer, neighbouring pixels are 1 apart "
        "(j = 1)",
        _right,
        (1, 0),
    ),
)


def _compare(g: Grader, layers, got, want: np.ndarray) -> bool:
    """Exact comparison with the first wrong layer named; else g.close's shape/type verdict."""
    what = "receptive_field: (r, j) after each layer"
    if not layers:
        return g.check(what, len(got) == 0, f"got {got!r}, expected [] (no layer, no pair)")
    try:
        got_a = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        got_a = None
    if got_a is None or got_a.shape != want.shape:
        if np.shape(got) == (2,) and len(layers) != 2:
            return g.check(
                what,
                False,
                f"got {got!r}, expected {len(layers)} pairs",
                "return the (r, j) pair after EVERY layer, not only after the last",
            )
        return g.close(what, got, want)
    wrong = np.flatnonzero(np.any(got_a != want, axis=1))
    if not len(wrong):
        return g.check(what, True)
    i = int(wrong[0])
    mistakes = [Mistake(m, _walk(layers, step, *start)) for m, step, start in MISTAKES]
    return g.check(
        what,
        False,
        f"after layer {i + 1} {tuple(layers[i])} (kernel, stride, padding): got (r, j) = "
        f"{tuple(got[i])}, expected {tuple(int(v) for v in want[i])}",
        g.diagnose(got_a, want, mistakes, {}),
    )


def grade(g: Grader) -> None:
    fn = g.function("receptive_field")
    for on, layers in (*STACKS, ("an empty stack", [])):
        want = reference(layers)
        with g.case(f"{on}: {layers}" if len(layers) <= 5 else on):
            got = g.call(fn, list(layers))
            if g.check(
                "receptive_field returns a list",
                isinstance(got, list | tuple),
                f"got {type(got).__name__}, expected a list of (r, j) tuples",
            ):
                _compare(g, layers, got, want)


EXERCISE = Exercise(
    name="receptive-field",
    module=2,
    number=3,
    title="Receptive field and jump of a stack of conv and pool layers",
    concept="Receptive fields",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Keep two numbers while you walk the layers from the input up: r (how wide a patch one "
        "feature sees) and j (how far apart two neighbouring features are, in input pixels). "
        "Both start at 1.",
        "A kernel of size k covers k neighbouring features of the layer below, and these are "
        "j_in input pixels apart: the field grows by (k - 1) * j_in.",
        "The stride spaces out this layer's features: j_out = j_in * s. Use the OLD j for r, "
        "so update r first, then j.",
        "for k, s, p in layers: r = r + (k - 1) * j; j = j * s; append (r, j). Padding does "
        "not enter.",
    ),
)
