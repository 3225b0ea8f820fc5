"""Exercise ``sampling-filters``: temperature, top-k and top-p filtering of next-token logits.

Reference: :mod:`dlf.sampling.filters` (the solution is the bodies of its ``apply_temperature``,
``top_k_filter`` and ``top_p_filter``). A filter's answer is the set of tokens it keeps in each
row (the others get ``-inf``) and the values of the kept logits: the grader compares both with
dlf's. The known mistakes are dlf's bodies with one edit each, run on the same logits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, as_array, solution_variant
from dlf.learn.source import Reference, fill_bodies

if TYPE_CHECKING:
    import torch

STUB = '''"""Exercise sampling-filters: temperature, top-k and top-p (nucleus) filtering of logits.

A language model gives next-token logits z, one per vocabulary entry; sampling draws a token
from softmax(z). These three functions reshape that distribution first, as dlf.sampling does.
Each takes logits (..., V) (V = vocabulary size, one row per position or sequence) and returns
NEW logits of the same shape and dtype, leaving its input unchanged. A token that a filter
removes gets the logit NEG_INF = -inf: probability exactly 0 after the softmax, so filters
compose. Check with `dlf learn check sampling-filters` after each save.
"""

import torch

NEG_INF = float("-inf")


def apply_temperature(logits, temperature):
    """Divide the logits by the temperature T:  z' = z / T,  so that sampling uses softmax(z / T).

    T < 1 sharpens the distribution towards the argmax, T > 1 flattens it towards uniform,
    T = 1 changes nothing. T <= 0 is an error: raise ValueError (T -> 0 is greedy decoding).
    Example: apply_temperature(torch.tensor([2.0, 0.0]), 0.5) -> tensor([4.0, 0.0]).
    Shapes: logits (..., V), temperature a float -> (..., V) in the logits' dtype.
    Checked: against dlf's apply_temperature (float64, relative error <= 1e-7) on several
    shapes and temperatures; T < 1 sharpens and T > 1 flattens; T = 0 raises ValueError;
    float32 kept; input unchanged.
    """
    raise NotImplementedError


def top_k_filter(logits, k):
    """Keep the k largest logits of each row (the last axis); set the others to NEG_INF.

    Rule: keep token i iff z_i >= z_(k), the k-th largest value of its row. Ties at the k-th
    value are all kept (more than k tokens survive then). k >= V keeps every token; k < 1 is
    an error (ValueError). The kept logits keep their values.
    Example: top_k_filter(torch.tensor([1., 3., 2., 3.]), 2) -> [-inf, 3., -inf, 3.];
             top_k_filter(torch.tensor([1., 3., 2., 2.]), 2) -> [-inf, 3., 2., 2.] (tie kept).
    Shapes: logits (..., V), k an int -> (..., V).
    Checked: against dlf's top_k_filter, the tokens kept in each row and their values, on
    several shapes (a batch of rows with different cut values, 3-D logits), k = 1 (greedy),
    k = V - 1, k >= V, ties at the k-th value; removed tokens exactly -inf; k = 0 raises
    ValueError; float32 kept; input unchanged.
    """
    raise NotImplementedError


def top_p_filter(logits, p):
    """Nucleus filter: keep the smallest set of most probable tokens whose probability reaches p.

    Rule, per row: sort the probabilities softmax(z) descending, pi_(1) >= pi_(2) >= ...; keep
    the first m tokens, m the smallest index with pi_(1) + ... + pi_(m) >= p. So the token
    that crosses p is kept, and so is the most probable token, always. Set the others to
    NEG_INF, in the tokens' own positions (not in sorted order). Among equal probabilities the
    lower token id ranks first (a stable sort). p = 1 keeps every token; p outside (0, 1] is
    an error (ValueError).
    Example: probabilities [0.1, 0.5, 0.3, 0.1] with p = 0.7 keep tokens 1 and 2
    (0.5 < 0.7 <= 0.5 + 0.3); tokens 0 and 3 get -inf.
    Shapes: logits (..., V), p a float -> (..., V).
    Checked: against dlf's top_p_filter, the tokens kept in each row and their values, on
    several shapes and p, p very small (the top token only), p = 1 (every token); removed
    tokens exactly -inf; p = 0 and p = 1.5 raise ValueError; float32 kept; input unchanged.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        name: Reference("dlf.sampling.filters", name)
        for name in ("apply_temperature", "top_k_filter", "top_p_filter")
    },
)

PER_ROW = (
    "the k-th largest value of each row must broadcast along its own row: keep the last "
    "axis (values[..., -1:], or keepdim=True), else row i's threshold cuts column i"
)
TOPK_ADVICE = (
    (
        "out of range",
        "k >= V keeps every token: return logits.clone() before calling torch.topk, which "
        "needs k <= V",
    ),
    ("must match", PER_ROW),
)
TOPK = "torch.topk(logits, k, dim=-1)"
CUT = "return logits.masked_fill(logits < kth_largest, NEG_INF)"
TOP_K_VARIANTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "off by one: k + 1 tokens kept (the k-th largest is the last of torch.topk(logits, k))",
        ((TOPK, "torch.topk(logits, k + 1, dim=-1)"),),
    ),
    ("off by one: k - 1 tokens kept", ((TOPK, "torch.topk(logits, k - 1, dim=-1)"),)),
    (
        "the k-th largest value itself is removed: set to -inf only logits < z_(k) (keep >=)",
        (("logits < kth_largest", "logits <= kth_largest"),),
    ),
    (
        "ties at the k-th value must all be kept: compare every logit with the k-th largest "
        "VALUE (logits < kth -> -inf), rather than keeping the k indices torch.topk returns",
        (
            (
                CUT,
                "index = torch.topk(logits, k, dim=-1).indices\n    return torch.full_like("
                "logits, NEG_INF).scatter(-1, index, logits.gather(-1, index))",
            ),
        ),
    ),
    (
        "the k SMALLEST logits are kept: keep the largest",
        (
            (TOPK, "torch.topk(logits, k, dim=-1, largest=False)"),
            ("logits < kth_largest", "logits > kth_largest"),
        ),
    ),
    (
        "the k-th largest value is taken over the whole batch: take it in each row "
        "(dim=-1), e.g. torch.topk(logits, k, dim=-1).values[..., -1:]",
        ((f"{TOPK}.values[..., -1:]", "torch.topk(logits.reshape(-1), k).values[-1]"),),
    ),
    (PER_ROW, (("values[..., -1:]", "values[..., -1]"),)),
)

CROSSING = (
    "the token that crosses p is dropped: keep a token while the probability BEFORE it "
    "(cumsum - probs) is < p, so that the kept set reaches p"
)
TOP_P_VARIANTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (CROSSING, (("mass_before >= p", "probs.cumsum(dim=-1) > p"),)),
    (
        CROSSING + "; and the most probable token is always kept",
        (
            ("mass_before >= p", "probs.cumsum(dim=-1) > p"),
            ("remove_sorted[..., 0] = False", "pass"),
        ),
    ),
    (
        "top-p works on probabilities: softmax the sorted logits before the cumulative sum",
        (
            (
                "probs = torch.softmax(sorted_logits.to(dtype), dim=-1)",
                "probs = sorted_logits.to(dtype)",
            ),
        ),
    ),
    (
        "sort descending: the nucleus is made of the MOST probable tokens",
        (("descending=True", "descending=False"),),
    ),
    (
        "sort the probabilities (descending) before the cumulative sum: the nucleus is the "
        "most probable tokens, not the first ones in vocabulary order",
        (
            (
                "sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)",
                "sorted_logits, order = logits, torch.arange(logits.shape[-1]).expand("
                "logits.shape)",
            ),
        ),
    ),
    (
        "the removal mask is in sorted order: put it back in the tokens' positions "
        "(mask.scatter(-1, order, remove_sorted), order from torch.sort)",
        (("torch.empty_like(remove_sorted).scatter_(-1, order, remove_sorted)", "remove_sorted"),),
    ),
    (
        "the removal mask goes back to the tokens' positions with scatter (the inverse of the "
        "sort), not gather",
        (
            (
                "torch.empty_like(remove_sorted).scatter_(-1, order, remove_sorted)",
                "remove_sorted.gather(-1, order)",
            ),
        ),
    ),
)

NOT_A_TENSOR = "return a torch tensor (the result of torch operations), not a list or an array"
TEMPERATURE_MULTIPLIED = "multiplied by the temperature: divide, z / T (T < 1 must sharpen)"


def _logits(shape: tuple[int, ...], seed: int, scale: float = 2.0) -> torch.Tensor:
    import torch

    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, dtype=torch.float64, generator=gen)


def _variants(fn_name: str, variants, args: tuple) -> list[tuple[str, Any]]:
    """(message, what each known mistake returns on args); mistakes that raise are left out."""
    found = []
    for message, edits in variants:
        try:
            found.append((message, solution_variant(SOLUTION, edits)[fn_name](*args)))
        except Exception:
            continue
    return found


def _kept_tokens(kept: np.ndarray) -> str:
    return "[" + ", ".join(str(int(i)) for i in np.flatnonzero(kept)) + "]"


def _removed_as(got: np.ndarray, want: np.ndarray, logits: np.ndarray) -> str:
    """The generic diagnosis of a kept set that differs: what the removed tokens got instead."""
    removed, kept = np.isneginf(want), ~np.isneginf(want)
    same_kept = np.allclose(got[kept], want[kept], rtol=1e-12, atol=0)
    if np.any(np.isnan(got)):
        return "NaN in the output: -inf - (-inf) or 0 * inf somewhere (mask, do not multiply)"
    if np.array_equal(got, logits):
        return (
            "nothing was removed: masked_fill returns a new tensor (return it), or the "
            "condition selects no token"
        )
    if same_kept and np.all(got[removed] == 0):
        return (
            "removed tokens got 0 instead of -inf: a logit of 0 keeps a probability; use "
            "NEG_INF (float('-inf'))"
        )
    if same_kept and np.all(np.isfinite(got[removed])) and np.all(got[removed] < -1e3):
        return "removed tokens must get exactly -inf (NEG_INF), not a large finite number"
    rows = got.reshape(-1, got.shape[-1]) if got.ndim else got.reshape(1, -1)
    if np.all(rows >= 0) and np.allclose(rows.sum(axis=-1), 1):
        return "probabilities returned: return logits (removed ones -inf); softmax comes later"
    return ""


def _compare_filtered(
    g: Grader,
    what: str,
    out: Any,
    want: torch.Tensor,
    logits: torch.Tensor,
    mistakes: Callable[[], list[tuple[str, Any]]],
) -> None:
    """The tokens kept in each row (not -inf), then the values of the kept logits."""
    import torch

    shape = tuple(want.shape)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
        tensor = isinstance(out, torch.Tensor)
        got = f"a tensor {tuple(out.shape)}" if tensor else type(out).__name__
        diagnosis = "a missing return statement" if out is None else ""
        g.check(
            what,
            False,
            f"got {got}, expected a tensor {shape}",
            diagnosis or ("" if tensor else NOT_A_TENSOR),
        )
        return
    got_a, want_a, logits_a = as_array(out), as_array(want), as_array(logits)
    got_kept, want_kept = ~np.isneginf(got_a), ~np.isneginf(want_a)
    if np.array_equal(got_kept, want_kept):  # -inf in the same places: compare the rest
        g.close(f"{what}: the values of the kept logits", out, want)
        return
    diagnosis = ""
    for message, value in mistakes():
        value_kept = ~np.isneginf(as_array(value))
        if value_kept.shape == got_kept.shape and np.array_equal(value_kept, got_kept):
            diagnosis = message
            break
    diagnosis = diagnosis or _removed_as(got_a, want_a, logits_a)
    rows_got = got_kept.reshape(-1, shape[-1])
    rows_want = want_kept.reshape(-1, shape[-1])
    row = int(np.argmax(np.any(rows_got != rows_want, axis=1)))
    where = f"row {row}: " if len(rows_got) > 1 else ""
    g.check(
        f"{what}: the tokens kept",
        False,
        f"{where}kept tokens {_kept_tokens(rows_got[row])}, expected "
        f"{_kept_tokens(rows_want[row])}",
        diagnosis,
    )


def _raises_value_error(g: Grader, fn: Callable, name: str, *args: Any) -> None:
    try:
        fn(*args)
    except ValueError:
        g.check(f"{name} raises ValueError", True)
        return
    except Exception as err:
        g.check(
            f"{name} raises ValueError",
            False,
            f"raised {type(err).__name__}: {err}".splitlines()[0],
            "check the argument first: if not (...): raise ValueError('...')",
        )
        return
    g.check(
        f"{name} raises ValueError",
        False,
        "returned without an error",
        "check the argument first: if not (...): raise ValueError('...')",
    )


def _keeps_float32(g: Grader, fn: Callable, name: str, *args: Any) -> None:
    import torch

    x = _logits((3, 7), 40).float()
    out = g.call(fn, x, *args)
    if not isinstance(out, torch.Tensor):
        g.check(f"{name} returns a tensor", False, f"got {type(out).__name__}", NOT_A_TENSOR)
        return
    g.check(
        f"{name} keeps float32",
        out.dtype == torch.float32,
        f"got {out.dtype}",
        "work in the logits' dtype: no .double() or float64 tensors",
    )


def _temperature(g: Grader) -> None:
    import torch

    from dlf.sampling import filters

    fn = g.function("apply_temperature")
    for shape, T, seed in (((8,), 0.5, 0), ((4, 10), 2.0, 1), ((2, 3, 6), 0.7, 2), ((5,), 1.0, 3)):
        z = _logits(shape, seed)
        with g.case(f"logits {shape}, temperature {T}"):
            out = g.call(fn, z, T)
            want = filters.apply_temperature(z, T)
            if not isinstance(out, torch.Tensor):
                g.check("apply_temperature", False, f"got {type(out).__name__}", NOT_A_TENSOR)
                continue
            g.close(
                "apply_temperature",
                out,
                want,
                mistakes=[
                    Mistake(TEMPERATURE_MULTIPLIED, z * T),
                    Mistake(
                        "probabilities returned: return the logits z / T (the softmax comes "
                        "when sampling)",
                        torch.softmax(z / T, dim=-1),
                    ),
                    Mistake(
                        "log-probabilities returned: return z / T, not log_softmax(z / T)",
                        torch.log_softmax(z / T, dim=-1),
                    ),
                    Mistake("exp(z / T) returned: return z / T", torch.exp(z / T)),
                ],
            )
    z = _logits((4, 10), 4)
    top = torch.softmax(z, dim=-1).amax(dim=-1)
    for T, word, rises in ((0.5, "sharpens", True), (2.0, "flattens", False)):
        with g.case(f"logits (4, 10), temperature {T}"):
            out = g.call(fn, z, T)
            if not isinstance(out, torch.Tensor) or out.shape != z.shape:
                continue  # said by the comparison above
            new = torch.softmax(out.to(torch.float64), dim=-1).amax(dim=-1)
            ok = bool(torch.all(new > top) if rises else torch.all(new < top))
            g.check(
                f"temperature {T} {word}: the top probability of every row "
                + ("rises" if rises else "falls"),
                ok,
                f"top probabilities {np.round(as_array(top), 3).tolist()} became "
                f"{np.round(as_array(new), 3).tolist()}",
                TEMPERATURE_MULTIPLIED if torch.allclose(out, z * T) else "",
            )
    with g.case("temperature 0"):
        _raises_value_error(g, fn, "apply_temperature(logits, 0.0)", _logits((5,), 5), 0.0)
    with g.case("float32 logits (3, 7), temperature 0.8"):
        _keeps_float32(g, fn, "apply_temperature", 0.8)


def _top_k_cases() -> list[tuple[str, torch.Tensor, int]]:
    import torch

    ties = torch.tensor([[0.5, 1.0, 1.0, 1.0, 0.0], [2.0, 1.0, 0.0, -1.0, 3.0]]).double()
    return [
        ("logits (8,)", _logits((8,), 10), 3),
        ("logits (5, 5): as many rows as tokens", _logits((5, 5), 14), 2),
        ("logits (4, 10), greedy", _logits((4, 10), 11), 1),
        ("logits (4, 10)", _logits((4, 10), 12), 4),
        ("logits (2, 3, 6), V - 1", _logits((2, 3, 6), 13), 5),
        ("logits (4, 10), V", _logits((4, 10), 15), 10),
        ("logits (4, 10), more than V", _logits((4, 10), 16), 15),
        ("logits [1, 3, 2, 2]: a tie at the k-th value", torch.tensor([1.0, 3.0, 2.0, 2.0]), 2),
        ("logits (2, 5): a three-way tie at the k-th value", ties, 2),
    ]


def _grade_filter(g: Grader, name: str, cases, variants, arg: str, advice=()) -> Callable:
    """The learner's filter ``name`` against dlf's on each case (label, logits, the value of
    the argument ``arg``): the tokens kept, then their values. Returns the learner's filter."""
    from dlf.sampling import filters

    fn = g.function(name)
    for label, z, value in cases:
        with g.case(f"{label}, {arg} = {value:g}"), g.advice(*advice):
            out = g.call(fn, z, value)
            _compare_filtered(
                g,
                name,
                out,
                getattr(filters, name)(z, value),
                z,
                lambda z=z, value=value: _variants(name, variants, (z, value)),
            )
    return fn


def _top_k(g: Grader) -> None:
    fn = _grade_filter(g, "top_k_filter", _top_k_cases(), TOP_K_VARIANTS, "k", TOPK_ADVICE)
    with g.case("k = 0"):
        _raises_value_error(g, fn, "top_k_filter(logits, 0)", _logits((5,), 17), 0)
    with g.case("float32 logits (3, 7), k = 3"):
        _keeps_float32(g, fn, "top_k_filter", 3)


def _top_p_cases() -> list[tuple[str, torch.Tensor, float]]:
    import torch

    # + 2: the same probabilities, from logits that are not log-probabilities
    quarter = torch.log(torch.tensor([0.1, 0.5, 0.3, 0.1], dtype=torch.float64)) + 2.0
    return [
        ("probabilities [0.1, 0.5, 0.3, 0.1]", quarter, 0.7),
        ("logits (8,)", _logits((8,), 20, scale=1.0), 0.5),
        ("logits (4, 10)", _logits((4, 10), 21, scale=1.0), 0.9),
        ("logits (2, 3, 6)", _logits((2, 3, 6), 22, scale=1.0), 0.6),
        ("logits (6, 12), rows from flat to peaked", _peaked(), 0.8),
        ("logits (4, 10), p very small", _logits((4, 10), 23), 1e-3),
        ("logits (4, 10), p = 1", _logits((4, 10), 24), 1.0),
    ]


def _peaked() -> torch.Tensor:
    """Rows of growing sharpness, so that the nucleus holds from most tokens down to one."""
    import torch

    scale = torch.linspace(0.3, 6.0, 6, dtype=torch.float64)[:, None]
    return scale * _logits((6, 12), 25, scale=1.0)


def _top_p(g: Grader) -> None:
    fn = _grade_filter(g, "top_p_filter", _top_p_cases(), TOP_P_VARIANTS, "p")
    for p in (0.0, 1.5):
        with g.case(f"p = {p:g}"):
            _raises_value_error(g, fn, f"top_p_filter(logits, {p:g})", _logits((5,), 26), p)
    with g.case("float32 logits (3, 7), p = 0.8"):
        _keeps_float32(g, fn, "top_p_filter", 0.8)


def grade(g: Grader) -> None:
    _temperature(g)
    _top_k(g)
    _top_p(g)


EXERCISE = Exercise(
    name="sampling-filters",
    module=4,
    number=7,
    title="Temperature, top-k and top-p (nucleus) filtering",
    concept="Greedy, temperature, top-k, top-p sampling",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Temperature is one division, after checking that T > 0. The filters never change "
        "kept logits: they only put NEG_INF where a token goes, with "
        "logits.masked_fill(remove, NEG_INF) (a new tensor; the input stays as it was).",
        "top-k: torch.topk(logits, k, dim=-1).values holds each row's k largest, in "
        "descending order; its last column, values[..., -1:] (the slice keeps the axis, so it "
        "broadcasts along the row), is the k-th largest. Remove logits < that value; handle "
        "k >= V first.",
        "top-p: sort each row descending (torch.sort(..., descending=True, stable=True) gives "
        "the values and the order), take probs = softmax of the sorted logits, and the mass "
        "BEFORE each token: probs.cumsum(-1) - probs. Remove where that mass is >= p.",
        "The removal mask is in sorted order: put it back with torch.empty_like(remove_sorted)"
        ".scatter_(-1, order, remove_sorted), then logits.masked_fill(remove, NEG_INF).",
    ),
)
