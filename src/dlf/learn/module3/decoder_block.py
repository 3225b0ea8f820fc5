"""Exercise ``decoder-block``: the data flow of one transformer decoder layer, in PyTorch.

Reference: :class:`dlf.transformer.blocks.DecoderLayer`. The learner's class subclasses it (its
sub-modules are dlf's) and writes ``forward``: masked self-attention, cross-attention over the
encoder's output, the feed-forward network, each a residual sub-layer. As in ``encoder-block``
the solution spells the connections out (dlf's forward calls ``residual`` three times) and the
grader compares with dlf's layer, weights copied, in float64.
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

STUB = '''"""Exercise decoder-block: one layer of the transformer decoder, in PyTorch.

The class below inherits its constructor from dlf.transformer.blocks.DecoderLayer:
DecoderLayer(d_model, n_heads, d_ff, dropout=0.1, norm_first=False) builds

    self.self_attn     multi-head attention: self.self_attn(query, key, value, mask) -> (B, L, d)
    self.cross_attn    another one, for attending to the encoder's output (the "memory")
    self.feed_forward  the position-wise feed-forward network: (B, T, d) -> (B, T, d)
    self.norm_1, self.norm_2, self.norm_3   nn.LayerNorm(d_model), one per sub-layer, in order
    self.dropout       nn.Dropout(dropout), applied to each sub-layer's output
    self.norm_first    False: post-norm (the paper); True: pre-norm

Write forward: the data flow that connects them (dlf's residual() helper is not allowed).
Check with `dlf learn check decoder-block` after each save.
"""

import dlf.transformer.blocks


class DecoderLayer(dlf.transformer.blocks.DecoderLayer):
    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        """Masked self-attention, cross-attention, feed-forward; each a residual sub-layer.

        Post-norm (self.norm_first False; "Attention Is All You Need", section 3.1):

            x = LayerNorm_1(x + Dropout(SelfAttn(x, x, x, tgt_mask)))
            x = LayerNorm_2(x + Dropout(CrossAttn(x, memory, memory, src_mask)))
            y = LayerNorm_3(x + Dropout(FFN(x)))

        Cross-attention: the queries come from the decoder (x), the keys and values from the
        encoder's output (memory). Pre-norm (self.norm_first True): each sub-layer reads
        n = LayerNorm_i(x), and x = x + Dropout(Sublayer(n)) (memory is not normalised here).
        The caller builds the masks (boolean, True = may attend): tgt_mask is causal (position
        t sees positions <= t), usually & the target padding; src_mask hides source padding.
        Shapes: x (B, T, d_model), memory (B, S, d_model); tgt_mask None or broadcastable to
        (B, n_heads, T, T); src_mask None or broadcastable to (B, n_heads, T, S)
        -> y (B, T, d_model).
        Checked: y against dlf's DecoderLayer with the same weights (float64, relative error
        <= 1e-7) in evaluation mode, post-norm and pre-norm, on several shapes (S = T and
        S != T), a batch of one, with and without padding masks; causality (changing x at
        positions >= t must not change the outputs before t); changing memory at padded source
        positions must change nothing; training mode with dropout 0, and with dropout 0.1
        (same seed); the gradients with respect to x and memory; inputs left unchanged.
        """
        raise NotImplementedError
'''

BODY = """
if self.norm_first:
    h = self.norm_1(x)
    x = x + self.dropout(self.self_attn(h, h, h, tgt_mask))
    h = self.norm_2(x)
    x = x + self.dropout(self.cross_attn(h, memory, memory, src_mask))
    h = self.norm_3(x)
    return x + self.dropout(self.feed_forward(h))
x = self.norm_1(x + self.dropout(self.self_attn(x, x, x, tgt_mask)))
x = self.norm_2(x + self.dropout(self.cross_attn(x, memory, memory, src_mask)))
return self.norm_3(x + self.dropout(self.feed_forward(x)))
"""

SOLUTION = fill_bodies(STUB, {"DecoderLayer.forward": BODY})

I8, I12 = "\n" + " " * 8, "\n" + " " * 12  # line breaks inside forward and inside its `if`
POST_SELF = "self.norm_1(x + self.dropout(self.self_attn(x, x, x, tgt_mask)))"
POST_CROSS = "self.norm_2(x + self.dropout(self.cross_attn(x, memory, memory, src_mask)))"
POST_FFN = "self.norm_3(x + self.dropout(self.feed_forward(x)))"
PRE_SELF = "x = x + self.dropout(self.self_attn(h, h, h, tgt_mask))"
PRE_CROSS = "x = x + self.dropout(self.cross_attn(h, memory, memory, src_mask))"
PRE_FFN = "return x + self.dropout(self.feed_forward(h))"


def _no_residual(post: str, pre: str) -> tuple[tuple[str, str], ...]:
    """Edits that drop the ``x + `` of one sub-layer, post-norm and pre-norm."""
    return (
        (post, post.replace("(x + self.dropout(", "(self.dropout(")),
        (pre, pre.replace("x + ", "")),
    )


CAUSAL = (
    "the self-attention does not get tgt_mask, so position t sees the positions after it: "
    "self.self_attn(x, x, x, tgt_mask) (the caller puts the causal mask in tgt_mask)"
)
SRC_IGNORED = (
    "src_mask is not passed to the cross-attention: self.cross_attn(x, memory, memory, "
    "src_mask); without it, padded source positions leak into the outputs"
)
SWAPPED_QK = (
    "cross-attention with queries and keys swapped: the queries come from the decoder, the "
    "keys and values from the encoder: self.cross_attn(x, memory, memory, src_mask)"
)
KV_FROM_X = (
    "the cross-attention does not look at the encoder: its keys and values are memory, "
    "self.cross_attn(x, memory, memory, src_mask)"
)
MASKS_SWAPPED = (
    "src_mask and tgt_mask are swapped: tgt_mask (causal) goes to the self-attention, src_mask "
    "(source padding) to the cross-attention"
)
MEMORY_NORMED = (
    "memory is used as it is: pre-norm normalises x only (the encoder's output went through "
    "the encoder's final LayerNorm already): self.cross_attn(h, memory, memory, src_mask)"
)
ORDER = (
    "the sub-layers are in the wrong order: masked self-attention first, then cross-attention, "
    "then the feed-forward network"
)
NORMS = (
    "each sub-layer has its own LayerNorm, in order: norm_1 self-attention, norm_2 "
    "cross-attention, norm_3 feed-forward"
)
SHAPES_ADVICE = (
    "shapes disagree: the cross-attention's queries are x (length T), its keys and values "
    "memory (length S), its mask src_mask (B, 1, 1, S): self.cross_attn(x, memory, memory, "
    "src_mask); tgt_mask (T, T) belongs to the self-attention"
)

DECODER_VARIANTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "the residual connection around self-attention is missing: x + Dropout(SelfAttn(...))",
        _no_residual(POST_SELF, PRE_SELF),
    ),
    (
        "the residual connection around cross-attention is missing: x + Dropout(CrossAttn(...))",
        _no_residual(POST_CROSS, PRE_CROSS),
    ),
    (
        "the residual connection around the feed-forward network is missing: x + Dropout(FFN(x))",
        _no_residual(POST_FFN, PRE_FFN),
    ),
    (
        "the residual connections are missing: each sub-layer's input is added to its output",
        _no_residual(POST_SELF, PRE_SELF)
        + _no_residual(POST_CROSS, PRE_CROSS)
        + _no_residual(POST_FFN, PRE_FFN),
    ),
    (
        SWAPPED_QK,
        (
            ("self.cross_attn(x, memory, memory,", "self.cross_attn(memory, x, x,"),
            ("self.cross_attn(h, memory, memory,", "self.cross_attn(memory, h, h,"),
        ),
    ),
    (
        KV_FROM_X,
        (
            ("self.cross_attn(x, memory, memory,", "self.cross_attn(x, x, x,"),
            ("self.cross_attn(h, memory, memory,", "self.cross_attn(h, h, h,"),
        ),
    ),
    (
        MASKS_SWAPPED,
        (("tgt_mask))", "MASK_X))"), ("src_mask))", "tgt_mask))"), ("MASK_X))", "src_mask))")),
    ),
    (
        ORDER,  # cross-attention first, each norm with its sub-layer
        (
            (f"x = {POST_SELF}{I8}x = {POST_CROSS}", f"x = {POST_CROSS}{I8}x = {POST_SELF}"),
            (
                f"h = self.norm_1(x){I12}{PRE_SELF}{I12}h = self.norm_2(x){I12}{PRE_CROSS}",
                f"h = self.norm_2(x){I12}{PRE_CROSS}{I12}h = self.norm_1(x){I12}{PRE_SELF}",
            ),
        ),
    ),
    (
        ORDER,  # cross-attention first, the norms in their places
        (
            (
                f"x = {POST_SELF}{I8}x = {POST_CROSS}",
                f"x = {POST_CROSS.replace('norm_2', 'norm_1')}"
                f"{I8}x = {POST_SELF.replace('norm_1', 'norm_2')}",
            ),
            (
                f"{PRE_SELF}{I12}h = self.norm_2(x){I12}{PRE_CROSS}",
                f"{PRE_CROSS}{I12}h = self.norm_2(x){I12}{PRE_SELF}",
            ),
        ),
    ),
    (
        ORDER,  # the feed-forward network before the cross-attention
        (
            (
                f"x = {POST_CROSS}{I8}return {POST_FFN}",
                f"x = {POST_FFN.replace('norm_3', 'norm_2')}"
                f"{I8}return {POST_CROSS.replace('norm_2', 'norm_3')}",
            ),
        ),
    ),
    (
        NORMED_RESIDUAL,
        tuple((pre, pre.replace("x + ", "h + ")) for pre in (PRE_SELF, PRE_CROSS, PRE_FFN)),
    ),
    (
        NORM_INSIDE,
        tuple(
            (post, "x + " + post.replace("(x + self.dropout(", "(self.dropout("))
            for post in (POST_SELF, POST_CROSS, POST_FFN)
        ),
    ),
    (
        MEMORY_NORMED,
        (
            (
                "self.cross_attn(h, memory, memory,",
                "self.cross_attn(h, self.norm_2(memory), self.norm_2(memory),",
            ),
        ),
    ),
    (NORMS, (("self.norm_3(", "self.norm_2("),)),
    (NORMS, (("self.norm_2(", "self.norm_1("),)),
    (NO_DROPOUT, (("self.dropout(", "("),)),
    *(
        (NO_DROPOUT, ((post, without_dropout(post)), (pre, without_dropout(pre))))
        for post, pre in ((POST_SELF, PRE_SELF), (POST_CROSS, PRE_CROSS), (POST_FFN, PRE_FFN))
    ),
    (
        DROPOUT_ON_SUM,
        tuple(
            (line, line.replace("x + self.dropout(self.", "self.dropout(x + self."))
            for line in (POST_SELF, POST_CROSS, POST_FFN, PRE_SELF, PRE_CROSS, PRE_FFN)
        ),
    ),
)

# (B, T, S, d_model, n_heads, d_ff, target lengths, source lengths, seed). The first has S = T,
# where a cross-attention with queries and keys swapped runs (and is named) instead of raising.
CASES = (
    (2, 5, 5, 8, 2, 16, (5, 4), (5, 3), 0),
    (1, 4, 6, 8, 4, 12, (4,), (5,), 1),
    (3, 6, 4, 12, 3, 20, (6, 3, 5), (4, 2, 3), 2),
)


def _pair(g: Grader, cls, sizes: tuple[int, int, int], dropout: float, norm_first: bool, seed: int):
    """(the learner's layer, dlf's layer), float64, same weights."""
    from dlf.transformer.blocks import DecoderLayer

    return layer_pair(g, cls, DecoderLayer, sizes, dropout, norm_first, seed)


def _compare(g: Grader, what: str, mine, ref, args: tuple, seed: int | None = None):
    x, memory, src_mask, tgt_mask = args
    direct = [(CAUSAL, lambda: ref(x, memory, src_mask, None))]
    if src_mask is not None:
        direct.append((SRC_IGNORED, lambda: ref(x, memory, None, tgt_mask)))
    return compare(
        g,
        what,
        mine,
        ref,
        args,
        solution=SOLUTION,
        variants=DECODER_VARIANTS,
        direct=direct,
        seed=seed,
    )


def _properties(g: Grader, mine, x, memory, src_mask, tgt_mask, src_lengths, seed: int) -> None:
    """Causality, and no effect of memory at padded source positions (the learner's layer only)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    B, T, _ = x.shape
    layer = named(mine, "DecoderLayer.forward")
    with torch.no_grad():
        a = g.call(layer, x, memory, src_mask, tgt_mask)
        again = g.call(layer, x, memory, src_mask, tgt_mask)
        if not isinstance(a, torch.Tensor) or not torch.equal(a, again):
            return  # not a tensor, or random in evaluation mode: said by the comparison
        t = T // 2
        later = x.clone()
        later[:, t:] += 3.0 * torch.randn(later[:, t:].shape, dtype=x.dtype, generator=gen)
        b = g.call(layer, later, memory, src_mask, tgt_mask)
        before = torch.zeros(a.shape[:2], dtype=torch.bool)
        before[:, :t] = True
        unchanged_at(
            g,
            f"causality: the outputs before position {t} ignore x at positions >= {t}",
            a,
            b,
            before,
            f"changing x at positions >= {t} moved the outputs at positions < {t} by up to "
            "{moved:.3g}",
            CAUSAL,
        )
        S = memory.shape[1]
        pad = torch.arange(S)[None, :] >= torch.tensor(src_lengths)[:, None]  # (B, S)
        if src_mask is None or not bool(pad.any()):
            return
        noise = torch.randn(memory.shape, dtype=memory.dtype, generator=gen)
        c = g.call(layer, x, memory + 3.0 * noise * pad[..., None], src_mask, tgt_mask)
        unchanged_at(
            g,
            "the outputs ignore memory at padded source positions",
            a,
            c,
            torch.ones(a.shape[:2], dtype=torch.bool),
            "changing memory at the padded source positions moved the outputs by up to {moved:.3g}",
            SRC_IGNORED,
        )


def grade(g: Grader) -> None:
    from dlf.transformer.blocks import DecoderLayer

    with g.advice(("must match", SHAPES_ADVICE)):
        grade_layer(g, STUB, "DecoderLayer", DecoderLayer, _grade_norm)


def _inputs(B: int, T: int, S: int, d: int, tgt_lengths, src_lengths, seed: int):
    import torch

    from dlf.transformer.attention import causal_mask, length_mask

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, d, dtype=torch.float64, generator=gen)
    memory = torch.randn(B, S, d, dtype=torch.float64, generator=gen)
    tgt_mask = causal_mask(T) & length_mask(torch.tensor(tgt_lengths), T)  # (B, 1, T, T)
    src_mask = length_mask(torch.tensor(src_lengths), S)  # (B, 1, 1, S)
    return x, memory, src_mask, tgt_mask


def _grade_norm(g: Grader, cls, norm_first: bool) -> None:
    from dlf.transformer.attention import causal_mask

    kind = "pre-norm" if norm_first else "post-norm"
    for B, T, S, d, h, ff, tgt_lengths, src_lengths, seed in CASES:
        mine, ref = _pair(g, cls, (d, h, ff), 0.1, norm_first, seed)
        mine.eval()
        ref.eval()
        x, memory, src_mask, tgt_mask = _inputs(B, T, S, d, tgt_lengths, src_lengths, seed)
        shape = f"x ({B}, {T}, {d}), memory ({B}, {S}, {d}), {h} heads, {kind}, eval"
        with g.case(f"{shape}, tgt_mask causal ({T}, {T}), src_mask None"):
            _compare(g, "y", mine, ref, (x, memory, None, causal_mask(T)))
        on = f"{shape}, causal & padding masks, target lengths {tgt_lengths}, source {src_lengths}"
        with g.case(on):
            _compare(g, "y", mine, ref, (x, memory, src_mask, tgt_mask))
            _properties(g, mine, x, memory, src_mask, tgt_mask, src_lengths, seed + 10)

    B, T, S, d, h, ff, tgt_lengths, src_lengths, seed = CASES[2]
    grade_training(
        g,
        f"x ({B}, {T}, {d}), memory ({B}, {S}, {d}), {kind}, causal & padding masks",
        lambda dropout: _pair(g, cls, (d, h, ff), dropout, norm_first, seed),
        _compare,
        _inputs(B, T, S, d, tgt_lengths, src_lengths, 5),
        {"x": 0, "memory": 1},
    )


EXERCISE = Exercise(
    name="decoder-block",
    module=3,
    number=6,
    title="A transformer decoder layer: masked self-attention, cross-attention, feed-forward",
    concept="The encoder-decoder transformer",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Three sub-layers in a row, each wrapped like the encoder's: masked self-attention "
        "over x, cross-attention from x to memory, then the feed-forward network.",
        "Post-norm wrapper: x = self.norm_i(x + self.dropout(sublayer(x))), with norm_1, "
        "norm_2, norm_3 in the order of the sub-layers.",
        "Self-attention takes tgt_mask (the causal mask, so position t cannot see t+1); "
        "cross-attention takes src_mask: self.cross_attn(x, memory, memory, src_mask). The "
        "queries are x: the decoder asks, the encoder's output answers.",
        "Pre-norm (if self.norm_first): for each sub-layer, h = self.norm_i(x) then "
        "x = x + self.dropout(sublayer(h)), e.g. self.cross_attn(h, memory, memory, src_mask).",
    ),
)
