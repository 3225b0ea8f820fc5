"""Exercise ``causal-self-attention``: GPT's masked multi-head self-attention, with a KV cache.

Reference: :class:`dlf.gpt.model.CausalSelfAttention`; the learner's class subclasses it (the
constructor and the weights are dlf's) and the solution is its ``forward``. The learner's class
is the attention of ``dlf run gpt-shakespeare-char workspace=DIR``. The grading it shares with
``gpt-block`` is in :mod:`._torch_blocks`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.module4._torch_blocks import (
    check_forward,
    config,
    grade_cases,
    grade_causal_and_gradient,
    pair,
)
from dlf.learn.source import Reference, fill_bodies

if TYPE_CHECKING:  # torch is imported when grading, not when the exercises are listed
    import torch
    from torch import nn

    from dlf.gpt import model

STUB = '''"""Exercise causal-self-attention: masked multi-head self-attention, with a KV cache.

Your class is the attention of every block of `dlf run gpt-shakespeare-char workspace=DIR`
(with your gpt-block). Check with `dlf learn check causal-self-attention` after each save.
"""

import torch

from dlf.gpt import model
from dlf.transformer.attention import causal_mask, scaled_dot_product_attention


class CausalSelfAttention(model.CausalSelfAttention):
    """Multi-head self-attention where position t attends to positions <= t only.

    The constructor is dlf's, CausalSelfAttention(config) with a dlf.gpt.model.GPTConfig; it sets

        self.c_attn        nn.Linear(C, 3 C): the queries, keys and values of all heads at once
        self.c_proj        nn.Linear(C, C): the output projection
        self.n_head        h, the number of heads; each head has d = C / h features
        self.attn_dropout  nn.Dropout for the attention weights (it is off in eval mode)

    (dlf's own forward also has a second path, PyTorch's fused kernel, taken when
    self.attention == "fused", and rotates q and k when self.rotary is set, for a GPT whose
    config.positional is "rope"; you need not write either.)
    """

    def forward(self, x, kv_cache=None):
        """y = Concat_h( softmax(q_h k_h^T / sqrt(d) + causal mask) v_h ) W_proj + b_proj

        1. q, k, v: self.c_attn(x) split along its last axis into three (B, T, C) tensors, in
           that order.
        2. Heads: each (B, T, C) -> (B, T, h, d) -> (B, h, T, d) (a view, then transpose(1, 2)).
        3. kv_cache = (past_k, past_v), each (B, h, S0, d), holds the S0 earlier positions: put
           them BEFORE the new ones along the time axis (dim 2), so k and v have S = S0 + T rows.
        4. Attend: scaled_dot_product_attention(q, k, v, mask, self.attn_dropout) with
           mask = causal_mask(T, S, device=x.device) (imported above; the T queries are the
           last T of the S positions). It returns (output (B, h, T, d), weights).
        5. Merge the heads back: (B, h, T, d) -> (B, T, h, d) -> (B, T, C); then self.c_proj.

        Shapes: x (B, T, C); kv_cache None or (past_k, past_v), each (B, h, S0, d)
        -> (y (B, T, C), (k, v)) with k and v (B, h, S0 + T, d): the keys and values of every
        position so far, which the next call receives as its kv_cache.
        Checked: y and (k, v) against dlf's CausalSelfAttention with the same weights (float64,
        relative error <= 1e-7) on several shapes, also with config.attention "fused"; with a
        cache (T new tokens after S0 cached ones, T = 1 included); that changing token t
        changes no output before t; the gradient with respect to x; dropout on the attention
        weights in training mode only.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB, {"CausalSelfAttention.forward": Reference("dlf.gpt.model", "CausalSelfAttention.forward")}
)

LEAK = (
    "the future leaks into the past: mask the scores with causal_mask(T, S) (True = may "
    "attend) before the softmax"
)

SHORT = (
    "return {what} of every position, the cached ones and the new ones (S0 + T), not only the "
    "new ones"
)


def _pair(cls: type, config: model.GPTConfig, seed: int) -> tuple[nn.Module, nn.Module]:
    """dlf's attention and the learner's, float64, eval mode, with the same (seeded) weights."""
    from dlf.gpt import model

    return pair(cls, model.CausalSelfAttention, config, seed, spread=0.5, add=False)


def variant(
    attn: nn.Module,
    x: torch.Tensor,
    cache: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    order: tuple[int, int, int] = (0, 1, 2),
    mask: str = "causal",
    scale: float = 1.0,
    transpose_back: bool = True,
    project: bool = True,
    cache_first: bool = True,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """What a forward with one known mistake returns, built from dlf's pieces.

    ``order``: which third of c_attn's output is taken as q, k, v; ``mask``: "causal",
    "none" or "top-left"; ``scale``: multiplies the scores (1: correct); ``transpose_back``:
    False merges (B, h, T, d) into (B, T, C) without swapping h and T back; ``project``:
    False leaves out c_proj; ``cache_first``: False puts the cached keys after the new ones.
    """
    import torch

    from dlf.transformer.attention import causal_mask, scaled_dot_product_attention

    B, T, C = x.shape
    h = attn.n_head
    thirds = attn.c_attn(x).split(C, dim=2)
    q, k, v = (thirds[i].view(B, T, h, C // h).transpose(1, 2) for i in order)
    if cache is not None:
        k = torch.cat([cache[0], k] if cache_first else [k, cache[0]], dim=2)
        v = torch.cat([cache[1], v] if cache_first else [v, cache[1]], dim=2)
    S = k.size(2)
    masks = {
        "causal": causal_mask(T, S),
        "none": None,
        "top-left": torch.ones(T, S, dtype=torch.bool).tril(),
    }
    y, _ = scaled_dot_product_attention(q * scale, k, v, masks[mask])
    y = y.transpose(1, 2).contiguous().view(B, T, C) if transpose_back else y.reshape(B, T, C)
    return (attn.c_proj(y) if project else y), (k, v)


def mistakes(
    ref: nn.Module, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None
) -> tuple[list[Mistake], list[Mistake]]:
    """Known wrong (y, k) values of the attention ``ref`` on ``x``, each named."""
    d = x.size(-1) // ref.n_head
    named = [
        (
            "no causal mask: every position sees the future; pass causal_mask(T, S) to "
            "scaled_dot_product_attention",
            {"mask": "none"},
        ),
        (
            "with a cache the mask must be causal_mask(T, S): the T new queries are the LAST T "
            "of the S positions (bottom-right), not the first T",
            {"mask": "top-left"},
        ),
        (
            "the heads are merged without transposing back: (B, h, T, d) -> transpose(1, 2) "
            "-> (B, T, h, d) -> view(B, T, C)",
            {"transpose_back": False},
        ),
        (
            "q and k swapped: c_attn's output splits into q, k, v in that order",
            {"order": (1, 0, 2)},
        ),
        (
            "k and v swapped: c_attn's output splits into q, k, v in that order",
            {"order": (0, 2, 1)},
        ),
        (
            "q and v swapped: c_attn's output splits into q, k, v in that order",
            {"order": (2, 1, 0)},
        ),
        (
            "the scores are not scaled: divide q k^T by sqrt(d), d = C / n_head",
            {"scale": math.sqrt(d)},
        ),
        (
            "the scores are divided by sqrt(C): the scale is 1/sqrt(d) with d = C / n_head, the "
            "size of one head",
            {"scale": math.sqrt(d) / math.sqrt(x.size(-1))},
        ),
        ("c_proj is missing: the merged heads go through self.c_proj", {"project": False}),
        (
            "the cache goes first: torch.cat([past_k, k], dim=2), the earlier positions before "
            "the new ones",
            {"cache_first": False},
        ),
    ]
    ys, ks = [], []
    for message, change in named:
        if cache is None and ("cache_first" in change or change.get("mask") == "top-left"):
            continue
        y, (k, _) = variant(ref, x, cache, **change)
        ys.append(Mistake(message, y))
        ks.append(Mistake(message, k))
    return ys, ks


def check_dropout(g: Grader, cls: type, C: int, n_head: int) -> None:
    """With dropout, the weights are dropped in training mode and kept in eval mode."""
    import torch

    ref, theirs = _pair(cls, config(C, n_head, dropout=0.5), 6)
    x = torch.randn(2, 5, C, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = ref(x)[0]
        evaluated = g.returns(g.call(theirs.forward, x), 2, "(y, (k, v))")[0]
        theirs.train()
        torch.manual_seed(0)
        trained = g.returns(g.call(theirs.forward, x), 2, "(y, (k, v))")[0]
    g.close(
        "eval mode: no dropout",
        evaluated,
        want,
        mistakes=[
            Mistake(
                "dropout in eval mode: use the module self.attn_dropout (model.eval() turns it "
                "off), not F.dropout(..., training=True)",
                trained,
            )
        ],
    )
    g.check(
        "training mode: the attention weights are dropped out",
        not torch.allclose(trained, evaluated),
        "the output is the same in training and eval mode",
        "pass self.attn_dropout to scaled_dot_product_attention: it drops attention weights "
        "while training",
    )


def grade(g: Grader) -> None:
    import torch

    from dlf.gpt import model

    cls = g.subclass(
        "CausalSelfAttention",
        model.CausalSelfAttention,
        "the constructor and the weights are dlf's",
    )

    def make(config: model.GPTConfig, seed: int) -> tuple[nn.Module, nn.Module]:
        return _pair(cls, config, seed)

    grade_cases(g, make, mistakes, "y", SHORT)
    # a config asking for PyTorch's fused kernel: code that ignores self.attention passes too
    ref, theirs = make(config(8, 2, attention="fused"), 11)
    x = torch.randn(1, 7, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        cache = ref(x[:, :4])[1]
    with g.case("attention='fused' in the config, x (1, 7, 8), n_head 2"):
        check_forward(g, ref, theirs, x, None, mistakes, "y", SHORT)
    with g.case("attention='fused' in the config, 3 new tokens after 4 cached, n_head 2"):
        check_forward(g, ref, theirs, x[:, 4:], cache, mistakes, "y", SHORT)
    grade_causal_and_gradient(g, make, LEAK, "y", "attention")
    with g.case("dropout 0.5, x (2, 5, 8), n_head 2"):
        check_dropout(g, cls, 8, 2)


EXERCISE = Exercise(
    name="causal-self-attention",
    module=4,
    number=4,
    title="GPT's causal multi-head self-attention, with a KV cache",
    concept="Causal self-attention and the GPT",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Follow the shapes: c_attn gives (B, T, 3C); .split(C, dim=2) cuts it into q, k and v. "
        "Print each shape as you go.",
        "A head is a slice of the C features: t.view(B, T, self.n_head, C // self.n_head)."
        "transpose(1, 2) puts the heads before time, so that attention runs over T per head.",
        "The cache holds earlier positions: k = torch.cat([kv_cache[0], k], dim=2), the same "
        "for v. Then S = k.size(2) and the mask is causal_mask(T, S, device=x.device).",
        "y, _ = scaled_dot_product_attention(q, k, v, mask, self.attn_dropout); then "
        "y.transpose(1, 2).contiguous().view(B, T, C) and return self.c_proj(y), (k, v).",
    ),
)
