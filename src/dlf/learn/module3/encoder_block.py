"""Exercise ``encoder-block``: the data flow of one transformer encoder layer, in PyTorch.

Reference: :class:`dlf.transformer.blocks.EncoderLayer`. The learner's class subclasses it (the
sub-modules self_attn, feed_forward, norm_1, norm_2 and dropout are dlf's) and writes
``forward``. dlf's forward is two calls of the helper ``residual``; the solution spells the
sub-layer connections out, and the grader compares with dlf's layer, weights copied, in float64.

The known mistakes are the solution with one edit each (:func:`solution_variant`), run with the
reference layer's weights. The torch helpers here (calling the learner's code with torch
tensors, variants of a solution) serve ``decoder-block`` and Module 4's exercises too.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, LearnerError, Mistake
from dlf.learn.source import fill_bodies, stub_defs

if TYPE_CHECKING:  # torch is imported when grading
    import torch

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
NORMED_RESIDUAL = (
    "pre-norm adds the sub-layer to the raw x: x + Dropout(Sublayer(LayerNorm(x))), not "
    "LayerNorm(x) + ... (keep the normalised tensor in its own variable)"
)
NORM_INSIDE = (
    "post-norm normalises the sum: LayerNorm(x + Dropout(Sublayer(x))), not "
    "x + LayerNorm(Sublayer(x))"
)
SWAPPED_NORMS = "norm_1 belongs to self-attention and norm_2 to the feed-forward network"
NO_DROPOUT = (
    "self.dropout is not applied to the sub-layer outputs: x + Dropout(Sublayer(x)) (it is "
    "active in training mode only)"
)
DROPOUT_ON_SUM = "dropout applies to the sub-layer's output before the residual sum, not after"
MASK_IGNORED = (
    "the mask is not passed to self-attention: self.self_attn(q, k, v, mask); without it, "
    "padded positions leak into every output"
)
PRE_AS_POST = (
    "norm placed as in post-norm, but self.norm_first is True: pre-norm is "
    "x + Dropout(Sublayer(LayerNorm(x)))"
)
POST_AS_PRE = (
    "norm placed as in pre-norm, but self.norm_first is False: post-norm is "
    "LayerNorm(x + Dropout(Sublayer(x)))"
)
RANDOM_IN_EVAL = (
    "the output is random in evaluation mode: use self.dropout (an nn.Dropout, off after "
    ".eval()), not F.dropout(..., p)"
)
MASK_INVERTED = "the mask is inverted: True means 'may attend' (dlf's convention): pass it as is"


def without_dropout(line: str) -> str:
    """A sub-layer's line of the solution without its self.dropout."""
    return line.replace("self.dropout(self.", "(self.")


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
DTYPE_ADVICE = (
    "the grader runs your layer in float64 (layer.double()): create no modules or float32 "
    "tensors in forward; use the layer's own sub-modules, and x's dtype for new tensors"
)
INPLACE_ADVICE = (
    "an in-place operation on an input (x += ..., x[...] = ..., masked_fill_): make a new "
    "tensor instead (x = x + ..., masked_fill)"
)


# --- torch helpers (decoder-block, sampling-filters and beam-search import them) ----------------


def as_array(value: Any) -> Any:
    """A torch tensor as a float64 NumPy array (for g.close); anything else unchanged."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return value


def tensor_call(
    g: Grader,
    fn: Callable,
    *args: Any,
    name: str,
    advice: Iterable[tuple[str, str]] = (),
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` for torch code: an exception becomes a LearnerError (with advice
    for a known message: ``(substring of the error, what to do)``), and a tensor argument that
    comes back changed is a failed check.

    ``fn`` gets copies of the tensors (gradients still flow back to the originals), so that an
    in-place change is reported once and never spoils the reference's input."""
    import torch

    before = [a.detach().clone() if isinstance(a, torch.Tensor) else None for a in args]
    args = tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)
    try:
        out = fn(*args, **kwargs)
    except Exception as err:
        error = g.error(err, name)
        for text, what in (("Double", DTYPE_ADVICE), ("dtype", DTYPE_ADVICE), *advice):
            if text in str(err):
                error.args = (f"{error}\n    likely mistake: {what}",)
                break
        raise error from None
    what = f"{name} leaves its inputs unchanged"
    said = any(c.what == what for c in g.checks)  # once is enough
    for i, (old, new) in enumerate(zip(before, args, strict=True)):
        if old is not None and not said and not torch.equal(old, new.detach()):
            said = not g.check(
                what, False, f"argument {i + 1} {tuple(old.shape)} was modified", INPLACE_ADVICE
            )
    return out


def is_tensor_like(g: Grader, what: str, out: Any, shape: tuple[int, ...]) -> bool:
    """A failed check unless ``out`` is a tensor of ``shape``."""
    import torch

    if isinstance(out, torch.Tensor) and tuple(out.shape) == shape:
        return True
    got = f"a tensor {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
    diagnosis = "return the layer's output tensor only" if isinstance(out, tuple | list) else ""
    if out is None:
        diagnosis = "a missing return statement"
    return g.check(what, False, f"got {got}, expected a tensor {shape}", diagnosis)


@cache
def solution_variant(solution: str, edits: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The namespace of ``solution`` with every ``old`` of ``edits`` replaced by its ``new``.

    A known mistake is the reference solution with one edit; running it gives the value that
    the mistaken code returns (each ``old`` must occur in the solution)."""
    text = solution
    for old, new in edits:
        if old not in text:
            raise ValueError(f"a mistake's edit does not apply: {old!r} is not in the solution")
        text = text.replace(old, new)
    namespace: dict[str, Any] = {"__name__": "dlf_learn_mistake"}
    exec(compile(text, "<mistake>", "exec"), namespace)
    return namespace


def borrowed(g: Grader, stub: str, forbidden: dict[str, Any]) -> list[str]:
    """Calls, in the defs the stub asks for, of a dlf object of ``forbidden`` (name -> object):
    ``["EncoderLayer.forward calls dlf's residual (line 30)"]``."""
    source = g.path.read_text(encoding="utf-8")
    wanted = stub_defs(stub)
    objects = {id(v): k for k, v in forbidden.items()}
    found = []
    for qualname, fn in stub_defs(source).items():
        if qualname not in wanted:
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and id(_resolve(node.func, g)) in objects:
                found.append(
                    f"{qualname} calls dlf's {objects[id(_resolve(node.func, g))]} "
                    f"(line {node.lineno})"
                )
    return found


def _resolve(node: ast.expr, g: Grader) -> Any:
    """The object a ``name`` or ``a.b.c`` expression denotes in the learner's module, or None."""
    if isinstance(node, ast.Name):
        return vars(g.module).get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, g)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def gradient_check(
    g: Grader, what: str, mine_out: Any, ref_out: torch.Tensor, inputs: dict[str, tuple]
) -> None:
    """Backpropagate the same random weights of the outputs; compare each input's gradient.

    ``inputs``: name -> (the learner's leaf tensor, the reference's leaf tensor)."""
    import torch

    weights = torch.randn(
        ref_out.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(99)
    )
    (ref_out * weights).sum().backward()
    if not getattr(mine_out, "requires_grad", False):
        g.check(
            f"{what}: gradient with respect to {', '.join(inputs)}",
            False,
            "the output does not depend on the input through autograd",
            "a .detach(), .data, .item() or torch.no_grad() cuts the graph",
        )
        return
    try:
        (mine_out * weights).sum().backward()
    except Exception as err:
        error = g.error(err, "backward through your forward")
        if "inplace" in str(err):
            error.args = (f"{error}\n    likely mistake: {INPLACE_ADVICE}",)
        raise error from None
    for name, (mine_leaf, ref_leaf) in inputs.items():
        grad = mine_leaf.grad
        if grad is None:
            g.check(f"{what}: d/d{name}", False, f"no gradient reached {name}", "")
            continue
        g.close(f"{what}: d/d{name}", as_array(grad), as_array(ref_leaf.grad))


def randomise_norms(layer: torch.nn.Module, seed: int) -> None:
    """LayerNorm weights and biases away from 1 and 0, so that a misplaced norm shows."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("norm_"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def copy_into(g: Grader, mine: torch.nn.Module, ref: torch.nn.Module, cls_name: str) -> None:
    """The reference's parameters into the learner's layer (same names: the class subclasses)."""
    try:
        mine.double()
        mine.load_state_dict(ref.state_dict())
    except Exception as err:
        raise LearnerError(
            f"dlf's {cls_name} weights do not load into yours ({type(err).__name__}): keep the "
            "constructor inherited from dlf's class; write forward only"
        ) from None


# --- grading -----------------------------------------------------------------------------------


def _pair(g: Grader, cls, d: int, h: int, ff: int, dropout: float, norm_first: bool, seed: int):
    """(the learner's layer, dlf's layer), float64, same weights."""
    import torch

    from dlf.transformer.blocks import EncoderLayer as Reference

    torch.manual_seed(seed)
    ref = Reference(d, h, ff, dropout=dropout, norm_first=norm_first).double()
    randomise_norms(ref, seed)
    mine = tensor_call(
        g, cls, d, h, ff, name="EncoderLayer(...)", dropout=dropout, norm_first=norm_first
    )
    copy_into(g, mine, ref, "EncoderLayer")
    return mine, ref


def variant_mistakes(
    ref: torch.nn.Module,
    solution: str,
    cls_name: str,
    variants: Iterable[tuple[str, tuple[tuple[str, str], ...]]],
    args: tuple,
    direct: Iterable[tuple[str, Callable[[], Any]]],
    seed: int | None,
) -> list[Mistake]:
    """What each known mistake returns on ``args`` with the reference's weights: the solution's
    variants (``cls_name.forward`` of each, run with ``ref`` as self), then ``direct`` ones
    (``(message, thunk)``, e.g. dlf's layer without its mask). ``seed``: reset before each run
    (dropout in training mode). A variant that raises (shapes that disagree) is left out."""
    import torch

    def run(fn: Callable[[], Any]) -> np.ndarray | None:
        if seed is not None:
            torch.manual_seed(seed)
        try:
            with torch.no_grad():
                return as_array(fn())
        except Exception:
            return None

    found = []
    for message, edits in variants:
        forward = solution_variant(solution, edits)[cls_name].forward
        found.append((message, run(lambda forward=forward: forward(ref, *args))))
    nf = ref.norm_first
    ref.norm_first = not nf
    try:
        found.append((PRE_AS_POST if nf else POST_AS_PRE, run(lambda: ref(*args))))
    finally:
        ref.norm_first = nf
    found += [(message, run(thunk)) for message, thunk in direct]
    return [Mistake(m, v) for m, v in found if v is not None]


def compare(
    g: Grader,
    what: str,
    name: str,
    mine: torch.nn.Module,
    ref: torch.nn.Module,
    args: tuple,
    mistakes: Callable[[], list[Mistake]],
    seed: int | None = None,
    advice: Iterable[tuple[str, str]] = (),
) -> Any:
    """The learner's ``mine(*args)`` against ``ref(*args)`` (``seed`` reset before each: the
    same dropout masks); ``mistakes()`` is run only on a mismatch. Returns the learner's output.
    ``advice``: as for :func:`tensor_call`."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    out = tensor_call(g, mine, *args, name=name, advice=advice)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        want = ref(*args)
    if not is_tensor_like(g, what, out, tuple(want.shape)):
        return None
    got = as_array(out)
    known = []
    if not np.allclose(got, as_array(want), rtol=1e-9, atol=1e-12):
        known = mistakes()
        if seed is None and not ref.training:
            again = as_array(tensor_call(g, mine, *args, name=name, advice=advice))
            if not np.array_equal(again, got):
                known.insert(0, Mistake(RANDOM_IN_EVAL, got))
    g.close(what, got, as_array(want), mistakes=known)
    return out


def _compare(g: Grader, what: str, mine, ref, x, mask, seed: int | None = None) -> Any:
    """The learner's output on (x, mask) against dlf's EncoderLayer."""
    direct = []
    if mask is not None:
        direct = [(MASK_IGNORED, lambda: ref(x)), (MASK_INVERTED, lambda: ref(x, ~mask))]
    return compare(
        g,
        what,
        "EncoderLayer.forward",
        mine,
        ref,
        (x, mask),
        lambda: variant_mistakes(
            ref, SOLUTION, "EncoderLayer", ENCODER_VARIANTS, (x, mask), direct, seed
        ),
        seed,
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
    with torch.no_grad():
        a = tensor_call(g, mine, x, mask, name="EncoderLayer.forward")
        again = tensor_call(g, mine, x, mask, name="EncoderLayer.forward")
        b = tensor_call(g, mine, changed, mask, name="EncoderLayer.forward")
    tensors = all(isinstance(t, torch.Tensor) for t in (a, again, b))
    if not tensors or a.shape != again.shape or not torch.equal(a, again):
        return  # not a tensor, or random in evaluation mode: said by the comparison with dlf
    real = ~pad
    moved = float((a[real] - b[real]).abs().max()) if a.shape == b.shape else np.inf
    g.check(
        "the outputs at real positions ignore the padded positions",
        moved <= 1e-10 * (1 + float(a.abs().max())),
        f"changing x at the padded positions moved the outputs at real positions by up to "
        f"{moved:.3g}",
        MASK_IGNORED,
    )


def grade(g: Grader) -> None:
    import torch

    from dlf.transformer.attention import length_mask
    from dlf.transformer.blocks import EncoderLayer as Reference
    from dlf.transformer.blocks import residual

    cls = g.function("EncoderLayer")
    used = borrowed(g, STUB, {"residual": residual, "EncoderLayer.forward": Reference.forward})
    g.check(
        "the sub-layer connections are your own code",
        not used,
        "; ".join(used),
        "write x + self.dropout(sublayer(...)) and the LayerNorm yourself: dlf's residual() "
        "is the reference",
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for norm_first in (False, True):
            _grade_norm(g, cls, norm_first, length_mask)
    finally:
        torch.set_num_threads(threads)


def _grade_norm(g: Grader, cls, norm_first: bool, length_mask) -> None:
    import torch

    kind = "pre-norm" if norm_first else "post-norm"
    for B, S, d, h, ff, lengths, seed in CASES:
        mine, ref = _pair(g, cls, d, h, ff, 0.1, norm_first, seed)
        mine.eval()
        ref.eval()
        x = torch.randn(B, S, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        mask = length_mask(torch.tensor(lengths), S)
        shape = f"x ({B}, {S}, {d}), {h} heads, d_ff {ff}, {kind}, eval"
        with g.case(f"{shape}, no mask"):
            _compare(g, "y", mine, ref, x, None)
        with g.case(f"{shape}, padding mask, lengths {lengths}"):
            _compare(g, "y", mine, ref, x, mask)
            _leak(g, mine, x, mask, lengths, seed + 10)

    B, S, d, h, ff, lengths, seed = CASES[0]
    x = torch.randn(B, S, d, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    mask = length_mask(torch.tensor(lengths), S)
    with g.case(f"x ({B}, {S}, {d}), {kind}, padding mask, training mode, dropout 0"):
        mine, ref = _pair(g, cls, d, h, ff, 0.0, norm_first, seed)
        _compare(g, "y", mine, ref, x, mask)
    with g.case(f"x ({B}, {S}, {d}), {kind}, padding mask, training mode, dropout 0.1, seed 3"):
        mine, ref = _pair(g, cls, d, h, ff, 0.1, norm_first, seed)
        _compare(g, "y (the same dropout masks as dlf's)", mine, ref, x, mask, seed=3)
    with g.case(f"x ({B}, {S}, {d}), {kind}, padding mask, eval"):
        mine, ref = _pair(g, cls, d, h, ff, 0.1, norm_first, seed)
        mine.eval()
        ref.eval()
        x_mine, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
        out = tensor_call(g, mine, x_mine, mask, name="EncoderLayer.forward")
        if is_tensor_like(g, "y", out, (B, S, d)):
            gradient_check(g, "gradient", out, ref(x_ref, mask), {"x": (x_mine, x_ref)})


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
