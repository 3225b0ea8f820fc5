"""Exercise ``causal-mask``: the boolean mask that keeps a decoder from looking ahead.

Reference: :func:`dlf.transformer.attention.causal_mask` (True = may attend; with S > L cached
keys, the L queries are the last L positions: the mask is aligned to the bottom-right). torch is
imported when grading, not when the exercises are listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import Reference, fill_bodies

if TYPE_CHECKING:
    import torch

STUB = '''"""Exercise causal-mask: the mask that lets token t attend to tokens 0..t and no further.

A GPT predicts token t+1 from tokens 0..t: if position t could see t+1, training would teach it
to copy. Check with `dlf learn check causal-mask` after each save.
"""

import torch


def causal_mask(L, S=None, device=None):
    """Boolean (L, S) mask, True where query i MAY attend to key j (PyTorch's convention):

        mask[i, j] = (j <= i + (S - L))

    With S = L (the default, S=None) this is the lower triangle, diagonal included: a token sees
    itself and the tokens before it. With S > L (a decoder step with S - L cached keys) the L
    queries are the LAST L of the S positions, so the last query sees every key.

    Example: causal_mask(3) -> [[T, F, F], [T, T, F], [T, T, T]];
             causal_mask(1, 3) -> [[T, T, T]];  causal_mask(2, 4) -> [[T, T, T, F], [T, T, T, T]].
    Shapes: L, S ints (S >= L) -> a torch.bool tensor (L, S) on ``device`` (None: the CPU).
    Checked: against dlf's causal_mask for L == S, S > L and L = 1; dtype torch.bool.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"causal_mask": Reference("dlf.transformer.attention", "causal_mask")})

# (L, S): square masks, cached keys (S > L), one query; the informative cases first
CASES = ((4, None), (3, 5), (1, 4), (1, None), (2, 2), (5, 7), (6, None))


def _mistakes(L: int, S: int) -> list[Mistake]:
    """Known wrong masks, each a variation of dlf's own mask."""
    import torch

    from dlf.transformer.attention import causal_mask

    ones = torch.ones(L, S, dtype=torch.bool)
    want = causal_mask(L, S)
    mistakes = [
        Mistake(
            "True and False swapped: True means the query MAY attend (PyTorch's convention), "
            "so the past and the diagonal are True, the future False",
            ~want,
        ),
        Mistake(
            "the diagonal is masked: a token must see itself (j <= i, not j < i)",
            ones.tril(diagonal=S - L - 1),
        ),
        Mistake(
            "one key too many: query i sees key i + 1, the very token it must predict "
            "(j <= i, not j <= i + 1)",
            ones.tril(diagonal=S - L + 1),
        ),
    ]
    if S > L:
        mistakes.append(
            Mistake(
                "aligned to the top-left: with S > L keys the L queries are the LAST L "
                "positions, so query i sees keys j <= i + (S - L) (tril(diagonal=S - L))",
                ones.tril(),
            )
        )
        mistakes.append(
            Mistake(
                "True and False swapped (True = may attend), and aligned to the top-left "
                "instead of the bottom-right (tril(diagonal=S - L))",
                ones.triu(diagonal=1),
            )
        )
    return mistakes


def _check_type(g: Grader, mask: object) -> bool:
    import torch

    if not isinstance(mask, torch.Tensor):
        return g.check(
            "returns a torch.Tensor",
            False,
            f"got {type(mask).__name__}",
            "build it with torch: torch.ones(L, S, dtype=torch.bool).tril(...)",
        )
    return g.check(
        "dtype torch.bool",
        mask.dtype == torch.bool,
        f"got {mask.dtype}",
        "scaled_dot_product_attention takes a boolean mask (True = may attend): give "
        "dtype=torch.bool, or compare (e.g. `!= 0`) to turn numbers into booleans",
    )


def _check_shape(g: Grader, mask: torch.Tensor, L: int, S: int) -> bool:
    got = tuple(mask.shape)
    diagnosis = ""
    if got == (L, L) and S != L:
        diagnosis = "S is ignored: the mask has one row per query (L) and one column per key (S)"
    elif got == (S, L) and S != L:
        diagnosis = "rows are queries, columns keys: the shape is (L, S), not (S, L)"
    return g.check("shape (L, S)", got == (L, S), f"got {got}, expected {(L, S)}", diagnosis)


def grade(g: Grader) -> None:
    from dlf.transformer.attention import causal_mask

    mask_fn = g.function("causal_mask")
    for L, S in CASES:
        size = S or L
        with g.case(f"causal_mask({L})" if S is None else f"causal_mask({L}, {S})"):
            got = g.call(mask_fn, L) if S is None else g.call(mask_fn, L, S)
            if not _check_type(g, got) and not hasattr(got, "shape"):
                continue
            if not _check_shape(g, got, L, size):
                continue
            g.close("mask", got, causal_mask(L, size), mistakes=_mistakes(L, size))
    with g.case("causal_mask(3, 3, device='cpu')"):
        got = g.call(mask_fn, 3, 3, device="cpu")
        if _check_type(g, got):
            g.check("on the device asked for", got.device.type == "cpu", f"got {got.device}")


EXERCISE = Exercise(
    name="causal-mask",
    module=4,
    number=3,
    title="The causal mask of a decoder, with cached keys",
    concept="Causal self-attention and the GPT",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Draw the 3 x 3 case: row i is a query, column j a key. Query 0 sees key 0 only, query "
        "2 sees keys 0, 1 and 2. True marks what may be seen.",
        "That is the lower triangle with its diagonal: torch.tril keeps it. Start from "
        "torch.ones(L, S, dtype=torch.bool, device=device).",
        "With cached keys (S > L) the queries are the last L positions: query i is position "
        "i + (S - L). tril's `diagonal` argument shifts the triangle to the right.",
        "S = L if S is None else S; return torch.ones(L, S, dtype=torch.bool, "
        "device=device).tril(diagonal=S - L).",
    ),
)
