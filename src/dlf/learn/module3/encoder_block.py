"""Exercise ``encoder-block``: the data flow of one transformer encoder layer, in PyTorch.

Reference: :class:`dlf.transformer.blocks.EncoderLayer`. The learner's class subclasses it (the
sub-modules self_attn, feed_forward, norm_1, norm_2 and dropout are dlf's) and writes
``forward``. dlf's forward is two calls of the helper ``residual``; the solution spells the
sub-layer connections out, and the grader compares with dlf's layer, weights copied, in float64
(the grading it shares with ``decoder-block`` is in :mod:`._transformer_layers`).

The known mistakes are the solution with one edit each, run with the reference layer's weights.
"""

from __future__ import annotations

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, named
from dlf.learn.module3._transformer_layers import (
    DROPOUT_ON_SUM,
    NO_DROPOUT,
    NORM_INSIDE,
    NORMED_RESIDUAL,
    compare,
    grade_layer,
    grade_training,
    layer_pair,
    unchanged_at,
    without_dropout,
)
from dlf.learn.source import fill_bodies

STUB = '''"""Exercise encoder-block: one layer of the transformer encoder, in PyTorch.

The class below inherits its constructor from dlf.transformer.blocks.EncoderLayer:
EncoderLayer(d_model, n_heads, d_ff, dropout=0.1, norm_first=False) builds

    self.self_attn     multi-head attention: self.self_attn(query, key, value, mask) -> (B, L, d)
    self.feed_forward  the position-wise feed-forward network: (B, S, d) -> (B, S, d)
    self.norm_1        nn.LayerNorm(d_model) of the self-attention sub-layer
    self.norm_2        nn.LayerNorm(d_model) of the feed-forward sub-layer
    self.dropout       nn.Dropout(dropout), applied to each sub-layer's output
    self.norm_first    False: post-norm (the paper); True: pre-norm

Write forward: the data flow that connects them (dlf's residual() helper is not allowed: the
sub-layer connection is the point). Check with `dlf learn check encoder-block` after each save.
"""

import dlf.transformer.blocks


class EncoderLayer(dlf.transformer.blocks.EncoderLayer):
    def forward(self, x, mask=None):
        """Self-attention, then the feed-forward network, each inside a residual connection.

        Post-norm (self.norm_first False; "Attention Is All You Need", section 3.1):

            x = LayerNorm_1(x + Dropout(SelfAttn(x, x, x, mask)))
            y = LayerNorm_2(x + Dropout(FFN(x)))

        Pre-norm (self.norm_first True): normalise the sub-layer's input, add to the raw x:

            x = x + Dropout(SelfAttn(n, n, n, mask)),   n = LayerNorm_1(x)
            y = x + Dropout(FFN(LayerNorm_2(x)))

        Shapes: x (B, S, d_model); mask None or boolean, broadcastable to (B, n_heads, S, S),
        True where a query may attend to a key (usually a (B, 1, 1, S) padding mask)
        -> y (B, S, d_model).
        Checked: y against dlf's EncoderLayer with the same weights (float64, relative error
        <= 1e-7) in evaluation mode, post-norm and pre-norm, on several shapes, a batch of one,
        with and without a padding mask; changing x at padded positions must not change the
        outputs at the real ones; training mode with dropout 0, and with dropout 0.1 (same
        seed: dropout must be applied where dlf applies it); the gradient with respect to x;
        x left unchanged.
        """
        raise NotImplementedError
'''

BODY = """
if self.norm_first:
    h = self.norm_1(x)
    x = x + self.dropout(self.self_attn(h, h, h, mask))
    h = self.norm_2(x)
    return x + self.dropout(self.feed_forward(h))
x = self.norm_1(x + self.dropout(self.self_attn(x, x, x, mask)))
return self.norm_2(x + self.dropout(self.feed_forward(x)))
"""

SOLUTION = fill_bodies(STUB, {"EncoderLayer.forward": BODY})

POST_ATTN = "self.norm_1(x + self.dropout(self.self_attn(x, x, x, mask)))"
POST_FFN = "self.norm_2(x + self.dropout(self.feed_forward(x)))"
PRE_ATTN = "x = x + self.dropout(self.self_attn(h, h, h, mask))"
PRE_FFN = "return x + self.dropout(self.feed_forward(h))"

NO_ATTN_RESIDUAL = (
    "the residual connection around self-attention is missing: the sub-layer's input x is "
    "added to its output (x + Dropout(SelfAttn(...))), before (post-norm) or without "
    "(pre-norm) the LayerNorm"
)
NO_FFN_RESIDUAL = (
    "the residual connection around the feed-forward network is missing: "
    "x + Dropout(FFN(...)), then LayerNorm_2 in post-norm"
)
NO_RESIDUAL = "both residual connections are missing: each sub-layer's input is added to its output"
SWAPPED_NORMS = "norm_1 belongs to self-attention and norm_2 to the feed-forward network"
MASK_IGNORED = (
    "the mask is not passed to self-attention: self.self_attn(q, k, v, mask); without it, "
    "padded positions leak into every output"
)
MASK_INVERTED = "the mask is inverted: True means 'may attend' (dlf's convention): pass it as is"


ENCODER_VARIANTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        NO_ATTN_RESIDUAL,
        (
            (POST_ATTN, "self.norm_1(self.dropout(self.self_attn(x, x, x, mask)))"),
            (PRE_ATTN, "x = self.dropout(self.self_attn(h, h, h, mask))"),
        ),
    ),
    (
        NO_FFN_RESIDUAL,
        (
            (POST_FFN, "self.norm_2(self.dropout(self.feed_forward(x)))"),
            (PRE_FFN, "return self.dropout(self.feed_forward(h))"),
        ),
    ),
    (
        NO_RESIDUAL,
        (
            (POST_ATTN, "self.norm_1(self.dropout(self.self_attn(x, x, x, mask)))"),
            (PRE_ATTN, "x = self.dropout(self.self_attn(h, h, h, mask))"),
            (POST_FFN, "self.norm_2(self.dropout(self.feed_forward(x)))"),
            (PRE_FFN, "return self.dropout(self.feed_forward(h))"),
        ),
    ),
    (
        NORMED_RESIDUAL,
        ((PRE_ATTN, PRE_ATTN.replace("x + ", "h + ")), (PRE_FFN, PRE_FFN.replace("x + ", "h + "))),
    ),
    (NORMED_RESIDUAL, ((PRE_ATTN, PRE_ATTN.replace("x + ", "h + ")),)),
    (NORMED_RESIDUAL, ((PRE_FFN, PRE_FFN.replace("x + ", "h + ")),)),
    (
        NORM_INSIDE,
        (
            (POST_ATTN, "x + self.norm_1(self.dropout(self.self_attn(x, x, x, mask)))"),
            (POST_FFN, "x + self.norm_2(self.dropout(self.feed_forward(x)))"),
        ),
    ),
    (
        SWAPPED_NORMS,
        (
            ("self.norm_1(", "self.norm_X("),
            ("self.norm_2(", "self.norm_1("),
            ("self.norm_X(", "self.norm_2("),
        ),
    ),
    (NO_DROPOUT, (("self.dropout(", "("),)),
    (NO_DROPOUT, tuple((line, without_dropout(line)) for line in (POST_ATTN, PRE_ATTN))),
    (NO_DROPOUT, tuple((line, without_dropout(line)) for line in (POST_FFN, PRE_FFN))),
    (
        DROPOUT_ON_SUM,
        (
            (POST_ATTN, "self.norm_1(self.dropout(x + self.self_attn(x, x, x, mask)))"),
            (POST_FFN, "self.norm_2(self.dropout(x + self.feed_forward(x)))"),
            (PRE_ATTN, "x = self.dropout(x + self.self_attn(h, h, h, mask))"),
            (PRE_FFN, "return self.dropout(x + self.feed_forward(h))"),
        ),
    ),
)

# (B, S, d_model, n_heads, d_ff, lengths of the padding mask, seed): a batch of one included
CASES = (
    (2, 5, 8, 2, 16, (5, 3), 0),
    (1, 4, 8, 4, 12, (3,), 1),
    (3, 7, 12, 3, 20, (7, 4, 6), 2),
)


def _pair(g: Grader, cls, sizes: tuple[int, int, int], dropout: float, norm_first: bool, seed: int):
    """(the learner's layer, dlf's layer), float64, same weights."""
    from dlf.transformer.blocks import EncoderLayer

    return layer_pair(g, cls, EncoderLayer, sizes, dropout, norm_first, seed)


def _compare(g: Grader, what: str, mine, ref, args: tuple, seed: int | None = None):
    """The learner's output on (x, mask) against dlf's EncoderLayer."""
    x, mask = args
    direct = []
    if mask is not None:
        direct = [(MASK_IGNORED, lambda: ref(x)), (MASK_INVERTED, lambda: ref(x, ~mask))]
    return compare(
        g,
        what,
        mine,
        ref,
        args,
        solution=SOLUTION,
        variants=ENCODER_VARIANTS,
        direct=direct,
        seed=seed,
    )


def _leak(g: Grader, mine, x, mask, lengths: tuple[int, ...], seed: int) -> None:
    """Changing x at padded positions must leave the outputs at real positions as they were."""
    import torch

    S = x.shape[1]
    if all(n == S for n in lengths):
        return
    pad = torch.arange(S)[None, :] >= torch.tensor(lengths)[:, None]  # (B, S)
    noise = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(seed))
    changed = x + 3.0 * noise * pad[..., None]
    layer = named(mine, "EncoderLayer.forward")
    with torch.no_grad():
        a, again, b = (g.call(layer, inputs, mask) for inputs in (x, x, changed))
    tensors = all(isinstance(t, torch.Tensor) for t in (a, again, b))
    if not tensors or a.shape != again.shape or not torch.equal(a, again):
        return  # not a tensor, or random in evaluation mode: said by the comparison with dlf
    unchanged_at(
        g,
        "the outputs at real positions ignore the padded positions",
        a,
        b,
        ~pad,
        "changing x at the padded positions moved the outputs at real positions by up to "
        "{moved:.3g}",
        MASK_IGNORED,
    )


def grade(g: Grader) -> None:
    from dlf.transformer.blocks import EncoderLayer

    grade_layer(g, STUB, "EncoderLayer", EncoderLayer, _grade_norm)


def _grade_norm(g: Grader, cls, norm_first: bool) -> None:
    import torch

    from dlf.transformer.attention import length_mask

    kind = "pre-norm" if norm_first else "post-norm"
    for B, S, d, h, ff, lengths, seed in CASES:
        mine, ref = _pair(g, cls, (d, h, ff), 0.1, norm_first, seed)
        mine.eval()
        ref.eval()
        x = torch.randn(B, S, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        mask = length_mask(torch.tensor(lengths), S)
        shape = f"x ({B}, {S}, {d}), {h} heads, d_ff {ff}, {kind}, eval"
        with g.case(f"{shape}, no mask"):
            _compare(g, "y", mine, ref, (x, None))
        with g.case(f"{shape}, padding mask, lengths {lengths}"):
            _compare(g, "y", mine, ref, (x, mask))
            _leak(g, mine, x, mask, lengths, seed + 10)

    B, S, d, h, ff, lengths, seed = CASES[0]
    x = torch.randn(B, S, d, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    grade_training(
        g,
        f"x ({B}, {S}, {d}), {kind}, padding mask",
        lambda dropout: _pair(g, cls, (d, h, ff), dropout, norm_first, seed),
        _compare,
        (x, length_mask(torch.tensor(lengths), S)),
        {"x": 0},
    )


EXERCISE = Exercise(
    name="encoder-block",
    module=3,
    number=5,
    title="A transformer encoder layer: residual connections and layer norm",
    concept="The encoder-decoder transformer",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Two sub-layers in a row, each with the same wrapper: first self-attention "
        "(queries, keys and values are all x), then the feed-forward network.",
        "The wrapper, post-norm: x = self.norm_1(x + self.dropout(sublayer(x))). The residual "
        "x + ... is what lets gradients skip the sub-layer; the norm comes after the sum.",
        "Self-attention is self.self_attn(x, x, x, mask): pass the mask, or padded positions "
        "leak into the outputs.",
        "Pre-norm (if self.norm_first): h = self.norm_1(x); x = x + self.dropout("
        "self.self_attn(h, h, h, mask)); then h = self.norm_2(x); return x + "
        "self.dropout(self.feed_forward(h)).",
    ),
)
