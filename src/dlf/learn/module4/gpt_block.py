"""Exercise ``gpt-block``: GPT's pre-norm decoder block, attention then MLP, each residual.

Reference: :class:`dlf.gpt.model.Block`; the learner's class subclasses it (the constructor and
the weights are dlf's) and the solution is its ``forward``. The learner's Block, holding their
CausalSelfAttention, is the block of ``dlf run gpt-shakespeare-char workspace=DIR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.module4._torch_blocks import (
    CACHED,
    config,
    grade_cases,
    grade_causal_and_gradient,
    pair,
)
from dlf.learn.source import Reference, fill_bodies

SHORT = (
    "the {what} of the cached positions are missing: pass kv_cache on, "
    "self.attn(self.ln_1(x), kv_cache), and return the (k, v) it gives back"
)
LEAK = (
    "the future leaks into the past: call self.attn, the causal attention, on the normalised "
    "x; nothing else in the block may mix positions"
)

if TYPE_CHECKING:  # torch is imported when grading, not when the exercises are listed
    import torch
    from torch import nn

    from dlf.gpt import model

STUB = '''"""Exercise gpt-block: one GPT block, pre-norm: attention, then the MLP, each a residual.

Your Block (with your CausalSelfAttention inside) makes the GPT of
`dlf run gpt-shakespeare-char workspace=DIR`. Check with `dlf learn check gpt-block`.
"""

import torch

from dlf.gpt import model


class Block(model.Block):
    """One pre-norm decoder block. The constructor is dlf's, Block(config); it sets

        self.ln_1     nn.LayerNorm(C), before the attention
        self.attn     CausalSelfAttention: self.attn(h, kv_cache) -> (y, (k, v))
        self.ln_2     nn.LayerNorm(C), before the MLP
        self.mlp      the MLP, C -> 4C -> GELU -> C: self.mlp(h) -> (B, T, C)
        self.dropout  nn.Dropout on each residual branch (off in eval mode)
    """

    def forward(self, x, kv_cache=None):
        """Two residual sublayers, each normalised at its input (pre-norm, GPT-2):

            x = x + Dropout(Attn(LN_1(x)))      Attn also returns the keys and values (k, v)
            x = x + Dropout(MLP(LN_2(x)))

        Shapes: x (B, T, C); kv_cache None or the (k, v) of this block's S0 earlier positions,
        passed on to self.attn -> (x (B, T, C), (k, v)), the (k, v) that self.attn returned.
        Checked: x and (k, v) against dlf's Block with the same weights (float64, relative
        error <= 1e-7) on several shapes, with and without a cache; that changing token t
        changes no output before t; the gradient with respect to x; dropout in training only.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"Block.forward": Reference("dlf.gpt.model", "Block.forward")})


def _pair(cls: type, config: model.GPTConfig, seed: int) -> tuple[nn.Module, nn.Module]:
    """dlf's Block and the learner's, float64, eval mode, with the same (seeded) weights; the
    layer norms' gains and shifts are random too, so that LN_1 and LN_2 differ."""
    from dlf.gpt import model

    return pair(cls, model.Block, config, seed, spread=0.3, add=True)


def variant(
    block: nn.Module,
    x: torch.Tensor,
    cache: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    post_norm: bool = False,
    residuals: tuple[bool, bool] = (True, True),
    norms: tuple[str, str] = ("ln_1", "ln_2"),
    parallel: bool = False,
    pass_cache: bool = True,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """What a forward with one known mistake returns, built from the block's own layers.

    ``post_norm``: x = LN(x + sublayer(x)) (the original transformer's order); ``residuals``:
    which sublayers add their input back; ``norms``: the layer norm before the attention and
    before the MLP ("none": no norm); ``parallel``: the MLP reads the block's input, not the
    attention sublayer's output; ``pass_cache``: False calls the attention without the cache.
    """
    norm = {"ln_1": block.ln_1, "ln_2": block.ln_2, "none": lambda t: t}
    if post_norm:
        y, kv = block.attn(x, cache)
        h = block.ln_1(x + y)
        return block.ln_2(h + block.mlp(h)), kv
    y, kv = block.attn(norm[norms[0]](x), cache if pass_cache else None)
    h = x + y if residuals[0] else y
    m = block.mlp(norm[norms[1]](x if parallel else h))
    return (h + m if residuals[1] else m), kv


def mistakes(
    ref: nn.Module, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
) -> tuple[list[Mistake], list[Mistake]]:
    """Known wrong (x, k) values of the block ``ref`` on ``x``, each named."""
    named = [
        (
            "post-norm (x = LN(x + sublayer(x))): GPT-2 normalises the input of each sublayer, "
            "x = x + sublayer(LN(x))",
            {"post_norm": True},
        ),
        (
            "the attention's residual is missing: x = x + attn(ln_1(x)), not attn(ln_1(x))",
            {"residuals": (False, True)},
        ),
        (
            "the MLP's residual is missing: x = x + mlp(ln_2(x)), not mlp(ln_2(x))",
            {"residuals": (True, False)},
        ),
        (
            "both residuals are missing: each sublayer adds its output to its input, "
            "x = x + sublayer(LN(x))",
            {"residuals": (False, False)},
        ),
        ("ln_1 and ln_2 swapped: ln_1 comes before the attention, ln_2 before the MLP",
         {"norms": ("ln_2", "ln_1")}),
        ("ln_1 is used twice: the MLP's input goes through ln_2", {"norms": ("ln_1", "ln_1")}),
        ("no layer norm before the attention: x + attn(ln_1(x))", {"norms": ("none", "ln_2")}),
        ("no layer norm before the MLP: x + mlp(ln_2(x))", {"norms": ("ln_1", "none")}),
        (
            "the MLP reads the block's input: it must read x after the attention's residual "
            "(one sublayer after the other)",
            {"parallel": True},
        ),
        (
            "the cache is not passed on: self.attn(ln_1(x), kv_cache)",
            {"pass_cache": False},
        ),
    ]  # fmt: skip
    xs, ks = [], []
    for message, change in named:
        if cache is None and "pass_cache" in change:
            continue
        out, (k, _) = variant(ref, x, cache, **change)
        xs.append(Mistake(message, out))
        ks.append(Mistake(message, k))
    return xs, ks


def check_dropout(g: Grader, cls: type) -> None:
    """With dropout, the residual branches are dropped in training mode, not in eval mode."""
    import torch

    ref, theirs = _pair(cls, config(8, 2, dropout=0.5), 6)
    ref.attn.attn_dropout.p = theirs.attn.attn_dropout.p = 0.0  # the block's own dropout only
    x = torch.randn(2, 5, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = ref(x)[0]
        evaluated = g.returns(g.call(theirs.forward, x), 2, "(x, (k, v))")[0]
        theirs.train()
        trained = g.returns(g.call(theirs.forward, x), 2, "(x, (k, v))")[0]
    g.close("eval mode: no dropout", evaluated, want)
    g.check(
        "training mode: the residual branches are dropped out",
        not torch.allclose(trained, evaluated),
        "the output is the same in training and eval mode",
        "apply self.dropout to each sublayer's output before adding it: x = x + self.dropout(y)",
    )


def grade(g: Grader) -> None:
    from dlf.gpt import model

    cls = g.subclass("Block", model.Block, "the constructor and the weights are dlf's")

    def make(config: model.GPTConfig, seed: int) -> tuple[nn.Module, nn.Module]:
        return _pair(cls, config, seed)

    grade_cases(g, make, mistakes, "x", SHORT, cached=CACHED[:2])
    grade_causal_and_gradient(g, make, LEAK, "x", "block")
    with g.case("dropout 0.5 on the residual branches, x (2, 5, 8)"):
        check_dropout(g, cls)


EXERCISE = Exercise(
    name="gpt-block",
    module=4,
    number=5,
    title="GPT's pre-norm decoder block",
    concept="Causal self-attention and the GPT",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Two steps, the same shape each time: normalise, run the sublayer, add the result to "
        "what went in. The attention comes first, the MLP second.",
        "self.attn returns two things: y, kv = self.attn(self.ln_1(x), kv_cache). Keep kv: "
        "the block returns it.",
        "Pre-norm: the layer norm is inside the branch, x = x + self.dropout(y); the residual "
        "stream x itself is never normalised in the block.",
        "x = x + self.dropout(y); x = x + self.dropout(self.mlp(self.ln_2(x))); return x, kv.",
    ),
)
