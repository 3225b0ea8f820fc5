"""What ``causal-self-attention`` and ``gpt-block`` share: grading a module of dlf's GPT whose
forward returns ``(output, (k, v))``, with and without a KV cache.

The learner's class subclasses dlf's (:mod:`dlf.gpt.model`), so it has dlf's constructor and
weights; the grader copies the reference's weights into it and compares the two in float64:
the output and the keys and values on several shapes, with a cache, causality (changing token t
changes no output before it) and the gradient with respect to x. torch is imported when
grading, not when the exercises are listed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dlf.learn.grader import Grader, LearnerError, Mistake

if TYPE_CHECKING:
    import torch
    from torch import nn

    from dlf.gpt import model

Mistakes = Callable[..., tuple[list[Mistake], list[Mistake]]]

# (B, T, C, n_head, bias, seed) without a cache; then (B, S0 cached, T new, C, n_head, seed)
CASES = ((2, 5, 8, 2, True, 0), (1, 1, 6, 3, True, 1), (3, 6, 12, 4, False, 2))
CACHED = ((1, 4, 3, 8, 2, 3), (1, 5, 1, 12, 3, 4), (2, 3, 2, 8, 4, 5))


def config(
    C: int, n_head: int, bias: bool = True, dropout: float = 0.0, attention: str = "ours"
) -> model.GPTConfig:
    """A one-layer GPTConfig of width ``C`` (block size 16, vocabulary 11)."""
    from dlf.gpt import model

    return model.GPTConfig(
        block_size=16,
        vocab_size=11,
        n_layer=1,
        n_head=n_head,
        n_embd=C,
        dropout=dropout,
        bias=bias,
        attention=attention,
    )


def pair(
    cls: type, reference: type, config: model.GPTConfig, seed: int, *, spread: float, add: bool
) -> tuple[nn.Module, nn.Module]:
    """dlf's ``reference`` module and the learner's ``cls``, float64, eval mode, with the same
    seeded weights: N(0, spread^2) noise added to dlf's initialisation (``add``) or in its
    place, biases and norms included, so that a forgotten one shows."""
    import torch

    torch.manual_seed(seed)
    ref = reference(config).double().eval()
    with torch.no_grad():
        for p in ref.parameters():
            noise = torch.randn_like(p) * spread
            if add:
                p.add_(noise)
            else:
                p.copy_(noise)
    theirs = cls(config).double().eval()
    theirs.load_state_dict(ref.state_dict())
    return ref, theirs


def _shape(g: Grader, what: str, got: object, want: tuple, new: int, short: str) -> bool:
    """Check a returned k or v is a tensor of ``want`` = (B, h, S, d)."""
    import torch

    shape = tuple(got.shape) if isinstance(got, torch.Tensor) else None
    diagnosis = ""
    if shape is None:
        diagnosis = "return the keys and values as tensors: (y, (k, v))"
    elif len(shape) == 3:
        diagnosis = f"return {what} split into heads, (B, h, S, d), as the cache holds them"
    elif len(shape) == 4 and shape[2] == new and want[2] != new:
        diagnosis = short.format(what=what)
    return g.check(
        f"{what} shape (B, h, S0 + T, d)",
        shape == want,
        f"got {type(got).__name__ if shape is None else shape}, expected {want}",
        diagnosis,
    )


def check_forward(
    g: Grader,
    ref: nn.Module,
    theirs: nn.Module,
    x: torch.Tensor,
    cache: tuple[torch.Tensor, torch.Tensor] | None,
    mistakes_of: Mistakes,
    name: str,
    short: str,
) -> None:
    """``name`` (the output) and (k, v) of the learner's ``theirs`` against dlf's ``ref`` on
    ``x`` (and ``cache``); ``mistakes_of(ref, x, cache)`` gives the known wrong (output, k)."""
    import torch

    with torch.no_grad():
        want_y, (want_k, want_v) = ref(x, cache)
        out = g.returns(g.call(theirs.forward, x, cache), 2, f"({name}, (k, v))")
        y, kv = out[0], g.returns(out[1], 2, "(k, v)")
        y_mistakes, k_mistakes = mistakes_of(ref, x, cache)
    g.close(name, y, want_y, mistakes=y_mistakes)
    T = x.size(1)
    for what, got, want, named in (("k", kv[0], want_k, k_mistakes), ("v", kv[1], want_v, [])):
        if _shape(g, what, got, tuple(want.shape), T, short):
            g.close(f"returned {what}", got, want, mistakes=named)


def check_causal(g: Grader, theirs: nn.Module, x: torch.Tensor, t: int, diagnosis: str, name: str):
    """Changing token ``t`` of ``x`` changes no output at a position before ``t``."""
    import torch

    changed = x.clone()
    changed[:, t] += 1.0
    with torch.no_grad():
        y = g.returns(g.call(theirs.forward, x), 2, f"({name}, (k, v))")[0]
        y2 = g.returns(g.call(theirs.forward, changed), 2, f"({name}, (k, v))")[0]
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        return
    moved = float((y2[:, :t] - y[:, :t]).abs().max())
    g.check(
        f"changing token {t} changes no output before it",
        moved <= 1e-12 * float(y.abs().max()),
        f"the outputs at positions 0..{t - 1} moved by up to {moved:.3g}",
        diagnosis,
    )


def check_gradient(g: Grader, ref: nn.Module, theirs: nn.Module, x: torch.Tensor, what: str):
    """The autograd gradient of sum(y * w) with respect to x equals dlf's (y: the output)."""
    import torch

    w = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(9))
    grads = []
    for module in (ref, theirs):
        xg = x.clone().requires_grad_(True)
        y = g.call(module.forward, xg)[0]  # its tuple was checked before
        if not isinstance(y, torch.Tensor) or not y.requires_grad:
            g.check(
                "the gradient flows back to x",
                False,
                "the output does not require grad",
                "the output was computed outside autograd: no .detach(), .numpy(), .data or "
                "torch.no_grad() in forward",
            )
            return
        try:
            (y * w).sum().backward()
        except Exception as err:
            raise LearnerError(
                f"backward through your {what} raised {type(err).__name__}: {err}".splitlines()[0]
                + "\n    likely mistake: an in-place operation on a tensor autograd needs"
            ) from None
        if xg.grad is None:
            g.check(
                "the gradient flows back to x",
                False,
                "x.grad is None after backward",
                "x was cut off from autograd: no x.detach(), x.data or x.numpy() in forward",
            )
            return
        grads.append(xg.grad)
    g.close("dL/dx (autograd, L = sum(output * w))", grads[1], grads[0])


def grade_cases(
    g: Grader,
    make: Callable[[model.GPTConfig, int], tuple[nn.Module, nn.Module]],
    mistakes_of: Mistakes,
    name: str,
    short: str,
    cached: tuple[tuple[int, ...], ...] = CACHED,
) -> None:
    """:func:`check_forward` on :data:`CASES` (no cache) and on ``cached`` (T new tokens after S0
    cached ones); ``make(config, seed)`` gives (dlf's module, the learner's)."""
    import torch

    for B, T, C, h, bias, seed in CASES:
        ref, theirs = make(config(C, h, bias), seed)
        x = torch.randn(B, T, C, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        with g.case(f"x ({B}, {T}, {C}), n_head {h}, bias {bias}, seed {seed}"):
            check_forward(g, ref, theirs, x, None, mistakes_of, name, short)
    for B, S0, T, C, h, seed in cached:
        ref, theirs = make(config(C, h), seed)
        x = torch.randn(
            B, S0 + T, C, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
        )
        with torch.no_grad():
            cache = ref(x[:, :S0])[1]
        with g.case(f"{T} new token(s) x ({B}, {T}, {C}) after {S0} cached, n_head {h}"):
            check_forward(g, ref, theirs, x[:, S0:], cache, mistakes_of, name, short)


def grade_causal_and_gradient(
    g: Grader,
    make: Callable[[model.GPTConfig, int], tuple[nn.Module, nn.Module]],
    leak: str,
    name: str,
    what: str,
) -> None:
    """Causality (token 3 of 6) and the gradient with respect to x, on x (1, 6, 8), 2 heads."""
    import torch

    ref, theirs = make(config(8, 2), 10)
    x = torch.randn(1, 6, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    with g.case("x (1, 6, 8), n_head 2"):
        check_causal(g, theirs, x, 3, leak, name)
        check_gradient(g, ref, theirs, x, what)
