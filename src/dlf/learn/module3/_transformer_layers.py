"""What ``encoder-block`` and ``decoder-block`` share: grading a transformer layer in PyTorch.

The learner's class subclasses dlf's layer (:mod:`dlf.transformer.blocks`) and writes
``forward``; the grader copies the reference's weights into it and compares the two in float64,
in evaluation mode, in training mode with dropout, and by their gradients. A known mistake is
the solution with one edit (:func:`dlf.learn.grader.solution_variant`), run with the reference
layer's weights. torch is imported when grading, not when the exercises are listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from dlf.learn.grader import (
    INPLACE_TENSOR,
    Grader,
    LearnerError,
    Mistake,
    as_array,
    named,
    one_torch_thread,
    solution_variant,
)
from dlf.learn.source import calls_to_itself

if TYPE_CHECKING:
    import torch

Edits = tuple[tuple[str, str], ...]

NORMED_RESIDUAL = (
    "pre-norm adds the sub-layer to the raw x: x + Dropout(Sublayer(LayerNorm(x))), not "
    "LayerNorm(x) + ... (keep the normalised tensor in its own variable)"
)
NORM_INSIDE = (
    "post-norm normalises the sum: LayerNorm(x + Dropout(Sublayer(x))), not "
    "x + LayerNorm(Sublayer(x))"
)
NO_DROPOUT = (
    "self.dropout is not applied to the sub-layer outputs: x + Dropout(Sublayer(x)) (it is "
    "active in training mode only)"
)
DROPOUT_ON_SUM = "dropout applies to the sub-layer's output before the residual sum, not after"
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
DTYPE_ADVICE = (
    "the grader runs your layer in float64 (layer.double()): create no modules or float32 "
    "tensors in forward; use the layer's own sub-modules, and x's dtype for new tensors"
)


def without_dropout(line: str) -> str:
    """A sub-layer's line of the solution without its self.dropout."""
    return line.replace("self.dropout(self.", "(self.")


def grade_layer(
    g: Grader, stub: str, name: str, reference: type, grade_norm: Callable[..., None]
) -> None:
    """The learner's class ``name`` (a subclass of dlf's ``reference``): the sub-layer
    connections must be its own code, then ``grade_norm(g, cls, norm_first)`` post-norm and
    pre-norm, on one thread, with advice for a layer that leaves float64."""
    from dlf.transformer.blocks import residual

    cls = g.function(name)
    used = calls_to_itself(
        g.path.read_text(encoding="utf-8"),
        stub,
        vars(g.module),
        {"residual": residual, f"{name}.forward": reference.forward},
    )
    g.check(
        "the sub-layer connections are your own code",
        not used,
        "; ".join(used),
        "write x + self.dropout(sublayer(...)) and the LayerNorm yourself: dlf's residual() "
        "is the reference",
    )
    with one_torch_thread(), g.advice(("Double", DTYPE_ADVICE), ("dtype", DTYPE_ADVICE)):
        for norm_first in (False, True):
            grade_norm(g, cls, norm_first)


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


def randomise_norms(layer: torch.nn.Module, seed: int) -> None:
    """LayerNorm weights and biases away from 1 and 0, so that a misplaced norm shows."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("norm_"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def layer_pair(
    g: Grader,
    cls: type,
    reference: type,
    sizes: tuple[int, int, int],
    dropout: float,
    norm_first: bool,
    seed: int,
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(the learner's layer, dlf's ``reference`` layer) of ``sizes`` = (d_model, n_heads,
    d_ff), float64, with the same weights (the norms' random)."""
    import torch

    torch.manual_seed(seed)
    ref = reference(*sizes, dropout=dropout, norm_first=norm_first).double()
    randomise_norms(ref, seed)
    name = reference.__name__
    mine = g.call(named(cls, f"{name}(...)"), *sizes, dropout=dropout, norm_first=norm_first)
    try:
        mine.double()
        mine.load_state_dict(ref.state_dict())
    except Exception as err:
        raise LearnerError(
            f"dlf's {name} weights do not load into yours ({type(err).__name__}): keep the "
            "constructor inherited from dlf's class; write forward only"
        ) from None
    return mine, ref


def variant_mistakes(
    ref: torch.nn.Module,
    solution: str,
    cls_name: str,
    variants: Iterable[tuple[str, Edits]],
    args: tuple,
    direct: Iterable[tuple[str, Callable[[], Any]]],
    seed: int | None,
) -> list[Mistake]:
    """What each known mistake returns on ``args`` with the reference's weights: the solution's
    variants (``cls_name.forward`` of each, run with ``ref`` as self), the norm placed as in
    the other kind (post-norm for pre-norm and back), then ``direct`` ones (``(message,
    thunk)``, e.g. dlf's layer without its mask). ``seed``: reset before each run (dropout in
    training mode). A variant that raises (shapes that disagree) is left out."""
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
    mine: torch.nn.Module,
    ref: torch.nn.Module,
    args: tuple,
    *,
    solution: str,
    variants: Iterable[tuple[str, Edits]],
    direct: Iterable[tuple[str, Callable[[], Any]]] = (),
    seed: int | None = None,
) -> Any:
    """The learner's ``mine(*args)`` against ``ref(*args)`` (``seed`` reset before each: the
    same dropout masks); the known mistakes (:func:`variant_mistakes`) are run only on a
    mismatch. Returns the learner's output."""
    import torch

    name = f"{type(ref).__name__}.forward"
    layer = named(mine, name)
    if seed is not None:
        torch.manual_seed(seed)
    out = g.call(layer, *args)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        want = ref(*args)
    if not is_tensor_like(g, what, out, tuple(want.shape)):
        return None
    got = as_array(out)
    known = []
    if not np.allclose(got, as_array(want), rtol=1e-9, atol=1e-12):
        known = variant_mistakes(ref, solution, type(ref).__name__, variants, args, direct, seed)
        if seed is None and not ref.training:
            again = as_array(g.call(layer, *args))
            if not np.array_equal(again, got):
                known.insert(0, Mistake(RANDOM_IN_EVAL, got))
    g.close(what, got, want, mistakes=known)
    return out


def unchanged_at(
    g: Grader, what: str, a: Any, b: Any, where: torch.Tensor, detail: str, diagnosis: str
) -> None:
    """Two outputs of the learner's layer, ``a`` and ``b`` (from inputs that differ only where
    they must not matter), agree at ``where`` (a boolean index of positions). ``detail`` may
    hold ``{moved}``, the largest change."""
    import torch

    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return
    if a.shape != b.shape:
        moved = np.inf
    else:
        moved = float((a[where] - b[where]).abs().max()) if bool(where.any()) else 0.0
    g.check(
        what,
        moved <= 1e-10 * (1 + float(a.abs().max())),
        detail.format(moved=moved),
        diagnosis,
    )


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
    backward = named(lambda: (mine_out * weights).sum().backward(), "backward through your forward")
    with g.advice(("inplace", INPLACE_TENSOR)):
        g.call_inplace(backward)
    for name, (mine_leaf, ref_leaf) in inputs.items():
        grad = mine_leaf.grad
        if grad is None:
            g.check(f"{what}: d/d{name}", False, f"no gradient reached {name}", "")
            continue
        g.close(f"{what}: d/d{name}", grad, ref_leaf.grad)


def grade_training(
    g: Grader,
    on: str,
    pair: Callable[[float], tuple[torch.nn.Module, torch.nn.Module]],
    check: Callable[..., Any],
    args: tuple,
    differentiable: dict[str, int],
) -> None:
    """The cases every layer has after its evaluation-mode ones, on ``args``: training mode
    with dropout 0, with dropout 0.1 (the same masks as dlf's, seed 3), and the gradients with
    respect to the arguments named in ``differentiable`` (name -> position), in eval mode.

    ``pair(dropout)`` makes (the learner's layer, dlf's); ``check(g, what, mine, ref, args,
    seed=None)`` compares their outputs (the exercise's wrapper of :func:`compare`)."""
    with g.case(f"{on}, training mode, dropout 0"):
        mine, ref = pair(0.0)
        check(g, "y", mine, ref, args)
    with g.case(f"{on}, training mode, dropout 0.1, seed 3"):
        mine, ref = pair(0.1)
        check(g, "y (the same dropout masks as dlf's)", mine, ref, args, seed=3)
    with g.case(f"{on}, eval"):
        mine, ref = pair(0.1)
        mine.eval()
        ref.eval()
        leaves = {
            name: (args[i].clone().requires_grad_(), args[i].clone().requires_grad_())
            for name, i in differentiable.items()
        }
        mine_args, ref_args = list(args), list(args)
        for name, i in differentiable.items():
            mine_args[i], ref_args[i] = leaves[name]
        out = g.call(named(mine, f"{type(ref).__name__}.forward"), *mine_args)
        if is_tensor_like(g, "y", out, tuple(args[0].shape)):
            gradient_check(g, "gradient", out, ref(*ref_args), leaves)
