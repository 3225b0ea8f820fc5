"""Exercise ``beam-search``: the search loop of beam search with a length penalty.

Reference: :func:`dlf.sampling.beam.beam_search` (the solution is its body); the learner is
given its helpers (``top_candidates``, ``length_normalised_score``, ``index_cache``, the result
types). The grader runs both on small deterministic language models in float64 (a random
trigram table, one where greedy decoding is not the best answer, one with end-of-sequence, one
with a cache) and compares the best hypothesis and every finished one. The known mistakes are
dlf's body with one edit each, run on the same model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, LearnerError, named, one_torch_thread, solution_variant
from dlf.learn.source import Reference, fill_bodies
from dlf.scratch.gradcheck import relative_error

STUB = '''"""Exercise beam-search: beam search over a language model's next-token logits.

The model is seen only through step_fn(ids, cache) -> (logits, cache), dlf.sampling's contract:
ids (B, T) int64 are the running sequences, prompt included, one row per hypothesis; cache is
None on the first call, then what the previous call returned, its rows following the
hypotheses (reorder_cache(cache, rows)); logits (B, V) are each row's next-token logits.

Given, from dlf.sampling (imported below):
    Hypothesis(ids, log_prob, score, finished)         one candidate output
    BeamSearchResult(ids, log_prob, score, finished)   what beam_search returns
    length_normalised_score(log_prob, length, length_penalty) = log_prob / length ** penalty
    top_candidates(scores, k)   the indices of the k best finite scores, best first, ties to
                                the lower index
    index_cache(cache, rows)    the rows `rows` (dimension 0) of every tensor in the cache
    as_prompt(prompt_ids)       the prompt as a (1, T) int64 tensor
    last_position_logits(logits, B)   step_fn's logits checked and shaped (B, V)
Write the search loop. Check with `dlf learn check beam-search` after each save.
"""

import torch

from dlf.sampling.beam import (
    BeamSearchResult,
    Hypothesis,
    index_cache,
    length_normalised_score,
    top_candidates,
)
from dlf.sampling.generate import as_prompt, last_position_logits


def beam_search(
    step_fn,
    prompt_ids,
    beam_width,
    max_new_tokens,
    eos_id=None,
    length_penalty=1.0,
    reorder_cache=index_cache,
):
    """Beam search for  argmax_y  log P(y | prompt) / |y| ** length_penalty.

    Keep beam_width hypotheses (start: the prompt alone, log P = 0). At step t = 0, 1, ...
    every running hypothesis h (one row of ids) proposes its V extensions h + v with

        log P(h + v) = log P(h) + log_softmax(z_h)_v          (in float64)

    and score(h + v) = length_normalised_score(log P(h + v), t + 1, length_penalty), t + 1
    being the number of generated tokens. Hypotheses that already ended with eos_id stay
    candidates with their score unchanged. The beam_width candidates of best score form the
    next beam: top_candidates over the scores of the B * V extensions (index row * V + v)
    followed by those of the ended hypotheses. A chosen extension whose token is eos_id has
    ended: record it as a finished Hypothesis (its ids end with eos_id) and keep it in the
    beam, without extending it. The others are the next running rows (and cache rows). Stop
    when no hypothesis is running, else after max_new_tokens steps.
    The answer is the best score among every finished hypothesis met and the beams still
    running at the end (finished=False, scored with their own length). Width 1 is greedy.
    Shapes: prompt_ids (T,), (1, T) or a list of ints; step_fn gets (B, T + t) ids with
    1 <= B <= beam_width and returns (B, V) logits -> BeamSearchResult(ids, log_prob, score,
    finished): the best hypothesis' generated ids (prompt excluded), its log P and score, and
    every finished Hypothesis met, best score first (a stable sort).
    Checked: against dlf's beam_search on small float64 language models (a random trigram
    table, one where greedy decoding misses the best sequence, one with end-of-sequence, one
    with a cache): the best ids, log_prob and score (relative error <= 1e-7) and every
    finished hypothesis, for beam widths 1 (greedy) to 5, length penalties 0, 0.6, 1 and 2,
    with and without eos_id, max_new_tokens 1; the cache handed back to step_fn, its rows
    reordered with reorder_cache.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"beam_search": Reference("dlf.sampling.beam", "beam_search")})

EXTENDED = "(running_log_prob[:, None] + log_probs)"
STEP_SCORE = "scores = length_normalised_score(extended, step + 1, length_penalty)"
FINAL_SCORE = "score = float(length_normalised_score(log_prob, len(ids), length_penalty))"
KEEP_ENDED = "finished.append(hypothesis)\n                kept_ended.append(hypothesis)"
NOT_REORDERED = (
    "the cache rows do not follow their beams: after choosing the beams, "
    "cache = reorder_cache(cache, rows), rows = each new beam's parent row"
)
PROMPT_LENGTH = (
    "the length in the penalty counts the prompt: |y| is the number of generated tokens "
    "(t + 1 at step t; eos_id included)"
)
CACHE_ADVICE = (
    ("must match", "the cache has more rows than ids: " + NOT_REORDERED),
    ("step_fn returned logits of shape", "the cache has more rows than ids: " + NOT_REORDERED),
)
VARIANTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "scores are not accumulated: log P(h + v) = log P(h) + log_softmax(z_h)_v, the sum over "
        "the whole hypothesis, not the last token's log-probability alone",
        ((EXTENDED, "log_probs"),),
    ),
    (
        "probabilities multiplied instead of log-probabilities added: use log_softmax and add "
        "(products of probabilities underflow, and log_prob must be a log)",
        (
            ("torch.log_softmax(", "torch.softmax("),
            (EXTENDED, "(running_log_prob[:, None] * log_probs)"),
            ("torch.zeros(1, dtype=torch.float64", "torch.ones(1, dtype=torch.float64"),
        ),
    ),
    (
        "only the best beam is extended: every running hypothesis proposes its V extensions, "
        "and the best beam_width of all B * V candidates are kept",
        (
            (
                f"{EXTENDED}.reshape(-1)",
                f"{EXTENDED}.index_fill(0, torch.arange(1, n_running), float('-inf')).reshape(-1)",
            ),
        ),
    ),
    (
        "the search starts from beam_width copies of the prompt: they propose the same "
        "extensions, so the beam fills with duplicates; start from one hypothesis, the prompt",
        (
            ("running = prompt  #", "running = prompt.repeat(beam_width, 1)  #"),
            ("running_log_prob = torch.zeros(1,", "running_log_prob = torch.zeros(beam_width,"),
        ),
    ),
    (
        "a hypothesis that ends with eos_id keeps its place in the beam while its score is "
        "among the best beam_width (ended hypotheses stay candidates)",
        ((KEEP_ENDED, "finished.append(hypothesis)"),),
    ),
    (
        "finished hypotheses are lost: record every hypothesis that ends with eos_id; the "
        "answer is the best among them and the beams still running",
        ((KEEP_ENDED, "kept_ended.append(hypothesis)"),),
    ),
    (
        "a hypothesis that ends with eos_id must stop: it leaves the running beams and is "
        "recorded as finished",
        (("if token == eos_id:", "if False:"),),
    ),
    (
        "the length penalty is not applied: rank by length_normalised_score(log P, number of "
        "generated tokens, length_penalty), during the search and for the answer",
        ((STEP_SCORE, "scores = extended"), (FINAL_SCORE, "score = log_prob")),
    ),
    (
        "the length penalty must rank the candidates at every step "
        "(length_normalised_score(log P, t + 1, length_penalty)), not only the answer",
        ((STEP_SCORE, "scores = extended"),),
    ),
    (
        PROMPT_LENGTH,
        (
            ("step + 1, length_penalty", "n_prompt + step + 1, length_penalty"),
            ("len(ids), length_penalty", "n_prompt + len(ids), length_penalty"),
        ),
    ),
    (PROMPT_LENGTH, (("step + 1, length_penalty", "n_prompt + step + 1, length_penalty"),)),
    (
        "a finished hypothesis' ids end with eos_id",
        (("tolist() + [token]", "tolist()"),),
    ),
    (
        "the finished hypotheses are listed best score first (sort by score, descending)",
        (("finished.sort(key=lambda h: h.score, reverse=True)", "pass"),),
    ),
    (NOT_REORDERED, (("cache = reorder_cache(cache, rows)", "cache = cache"),)),
)


# --- the language models: deterministic step functions in float64 ------------------------------


def _check_ids(ids: Any) -> None:
    import torch

    if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype != torch.long:
        got = f"{ids.dtype} {tuple(ids.shape)}" if isinstance(ids, torch.Tensor) else type(ids)
        raise TypeError(f"step_fn takes ids as an int64 tensor (B, T), got {got}")


@dataclass
class Trigram:
    """Next-token logits from the last two tokens (a random table), plus a bias towards eos
    that grows with the length, so that hypotheses end at different steps."""

    vocab: int
    seed: int
    scale: float = 2.0
    eos: int | None = None
    eos_bias: tuple[float, float] = (0.0, 0.0)  # eos logit += a * generated tokens - b
    prompt_len: int = 2

    def __post_init__(self) -> None:
        import torch

        gen = torch.Generator().manual_seed(self.seed)
        shape = (self.vocab, self.vocab, self.vocab)
        self.table = self.scale * torch.randn(shape, dtype=torch.float64, generator=gen)

    def __call__(self, ids, cache):
        _check_ids(ids)
        logits = self.table[ids[:, -2], ids[:, -1]].clone()
        if self.eos is not None:
            a, b = self.eos_bias
            logits[:, self.eos] += a * (ids.shape[1] - self.prompt_len) - b
        return logits, None


@dataclass
class Trap:
    """Greedy decoding's trap: token 1 is the likelier first step (0.5 against 0.4), but after
    it nothing is likely, while token 2 is followed by a sure 3 (0.9). Token 0 is eos."""

    prompt_len: int = 1

    def __call__(self, ids, cache):
        import torch

        _check_ids(ids)
        rows = []
        for seq in ids.tolist():
            made = seq[self.prompt_len :]
            if not made:
                probs = [0.02, 0.5, 0.4, 0.08]
            elif made[-1] == 1:
                probs = [0.22, 0.28, 0.26, 0.24]
            elif made[-1] == 2:
                probs = [0.03, 0.03, 0.04, 0.9]
            else:
                probs = [0.45, 0.2, 0.15, 0.2]
            rows.append([math.log(q) for q in probs])
        return torch.tensor(rows, dtype=torch.float64), None


@dataclass
class Recurrent:
    """A tiny recurrent model whose state is the cache: h_t = tanh(E[x_t] + h_{t-1} W), logits =
    h U. Without a cache it runs over every id; with one, over the last id only. It records
    whether each call after the first got a cache back."""

    vocab: int
    dim: int
    seed: int
    calls_without_cache: int = 0
    calls: int = 0
    weights: tuple = field(default=(), repr=False)

    def __post_init__(self) -> None:
        import torch

        gen = torch.Generator().manual_seed(self.seed)

        def rand(*shape):
            return torch.randn(shape, dtype=torch.float64, generator=gen)

        self.weights = (
            rand(self.vocab, self.dim),
            rand(self.dim, self.dim),
            2 * rand(self.dim, self.vocab),
        )

    def __call__(self, ids, cache):
        import torch

        _check_ids(ids)
        E, W, U = self.weights
        self.calls += 1
        if cache is None:
            if self.calls > 1:
                self.calls_without_cache += 1
            h = torch.zeros(ids.shape[0], self.dim, dtype=torch.float64)
            for t in range(ids.shape[1]):
                h = torch.tanh(E[ids[:, t]] + h @ W)
        else:
            h = torch.tanh(E[ids[:, -1]] + cache @ W)
        return h @ U, h


class Recorder:
    """A reorder_cache that counts its calls and hands on to dlf's index_cache."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, cache, rows):
        from dlf.sampling.beam import index_cache

        self.calls += 1
        return index_cache(cache, rows)


# --- comparing results --------------------------------------------------------------------------


def _ids(value: Any) -> list[int] | None:
    try:
        return [int(i) for i in (value.tolist() if hasattr(value, "tolist") else value)]
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(a: float | None, b: float) -> bool:
    return a is not None and relative_error(a, b) <= 1e-7


def _hypothesis(h: Any) -> tuple:
    """(ids, log_prob, score, finished) of a hypothesis, None where unreadable."""
    return (
        _ids(getattr(h, "ids", None)),
        _number(getattr(h, "log_prob", None)),
        _number(getattr(h, "score", None)),
        getattr(h, "finished", None),
    )


def _same(got: tuple, want: tuple) -> bool:
    return got[0] == want[0] and _close(got[1], want[1]) and _close(got[2], want[2])


def _fmt(h: tuple) -> str:
    ids, log_prob, score, *_ = h
    lp = "?" if log_prob is None else f"{log_prob:.6g}"
    sc = "?" if score is None else f"{score:.6g}"
    return f"ids {ids}, log_prob {lp}, score {sc}"


def _finished(result: Any) -> list[tuple] | None:
    items = getattr(result, "finished", None)
    if not isinstance(items, list | tuple):
        return None
    return [_hypothesis(h) for h in items]


def _matches(got: Any, other: Any) -> bool:
    """The learner's result is the same as ``other`` (a mistake's): best and finished."""
    mine, theirs = _finished(got), _finished(other)
    return (
        _same(_hypothesis(got), _hypothesis(other))
        and mine is not None
        and theirs is not None
        and len(mine) == len(theirs)
        and all(_same(a, b) for a, b in zip(mine, theirs, strict=True))
    )


def _passes(got: Any, want: Any) -> bool:
    finished = _finished(got)
    return _matches(got, want) and all(h[3] is True for h in finished or [])


def _diagnose(runs: list[Run]) -> str:
    """The known mistake that gives the learner's result on every case (and explains at least
    one failing case), or ''. One program, one mistake: a variant that matches one case by
    chance and not the others is not named."""
    failing = [r for r in runs if not _passes(r.got, r.want)]
    if not failing:
        return ""
    for message, edits in VARIANTS:
        fn = solution_variant(SOLUTION, edits)["beam_search"]
        explained = False
        for r in runs:
            try:
                other = r.run(fn)
            except Exception:
                continue  # this variant crashes here; the learner's did not: no information
            if not _matches(r.got, other):
                break
            explained = explained or r in failing
        else:
            if explained:
                return message
    return ""


def _compare(g: Grader, got: Any, want: Any, diagnosis: str, prompt: list[int]) -> None:
    if not all(hasattr(got, a) for a in ("ids", "log_prob", "score", "finished")):
        g.check(
            "returns a BeamSearchResult",
            False,
            f"got {type(got).__name__}",
            "return BeamSearchResult(best.ids, best.log_prob, best.score, finished)",
        )
        return
    best, want_best = _hypothesis(got), _hypothesis(want)
    finished, want_finished = _finished(got), _finished(want)
    best_ok = _same(best, want_best)
    finished_ok = (
        finished is not None
        and len(finished) == len(want_finished)
        and all(_same(a, b) and a[3] is True for a, b in zip(finished, want_finished, strict=True))
    )
    if _ids(getattr(got, "ids", None)) == prompt + want.ids:
        diagnosis = "ids are the generated tokens only: leave out the prompt (ids[n_prompt:])"
    g.check(
        "the best hypothesis",
        best_ok,
        f"got {_fmt(best)}; expected {_fmt(want_best)}",
        diagnosis,
    )
    g.check(
        "the finished hypotheses",
        finished_ok,
        "" if finished_ok else _finished_detail(finished, want_finished, got),
        diagnosis,
    )


def _finished_detail(finished: list[tuple] | None, want: list[tuple], got: Any) -> str:
    """Where the learner's finished hypotheses first differ from dlf's."""
    if finished is None:
        return f"finished is {type(getattr(got, 'finished', None)).__name__}, expected a list"
    if len(finished) != len(want):
        return f"{len(finished)} finished hypotheses, expected {len(want)}"
    pairs = zip(finished, want, strict=True)
    i = next(i for i, (a, b) in enumerate(pairs) if not (_same(a, b) and a[3] is True))
    flag = "" if finished[i][3] is True else f", finished={finished[i][3]!r}"
    return f"finished[{i}]: {_fmt(finished[i])}{flag}; expected {_fmt(want[i])}"


# --- grading ------------------------------------------------------------------------------------

# (label, model factory, prompt, beam_width, max_new_tokens, eos_id, length_penalty)
CASES: tuple[tuple[str, Callable[[], Callable], list[int], int, int, int | None, float], ...] = (
    ("trigram V=6", lambda: Trigram(6, 0), [1, 2], 1, 5, None, 1.0),
    ("trigram V=6", lambda: Trigram(6, 0), [1, 2], 2, 5, None, 1.0),
    ("trigram V=6", lambda: Trigram(6, 0), [1, 2], 3, 5, None, 0.0),
    ("trigram V=6", lambda: Trigram(6, 0), [1, 2], 5, 4, None, 1.0),
    ("greedy's trap", Trap, [3], 1, 2, None, 0.0),
    ("greedy's trap", Trap, [3], 2, 2, None, 0.0),
    ("greedy's trap, eos 0", Trap, [3], 3, 4, 0, 1.0),
    ("trigram V=7 with eos 0", lambda: Trigram(7, 3, 1.5, 0, (0.8, 1.5)), [1, 4], 3, 8, 0, 0.0),
    ("trigram V=7 with eos 0", lambda: Trigram(7, 3, 1.5, 0, (0.8, 1.5)), [1, 4], 3, 8, 0, 1.0),
    ("trigram V=7 with eos 0", lambda: Trigram(7, 3, 1.5, 0, (0.8, 1.5)), [1, 4], 3, 8, 0, 2.0),
    ("trigram V=7 with eos 0", lambda: Trigram(7, 3, 1.5, 0, (0.8, 1.5)), [1, 4], 1, 8, 0, 1.0),
    ("trigram V=7 with eos 0", lambda: Trigram(7, 3, 1.5, 0, (0.8, 1.5)), [1, 4], 4, 1, 0, 1.0),
    (
        "trigram V=5, eos 0 soon likely",
        lambda: Trigram(5, 4, 1.0, 0, (2.0, 0.0)),
        [2, 3],
        2,
        10,
        0,
        1.0,
    ),
)


@dataclass
class Run:
    """One graded case: its label, how to run a search on it, the learner's and dlf's results,
    and the checks of the cache that the learner's run recorded."""

    on: str
    run: Callable[[Callable], Any]
    prompt: list[int]
    got: Any
    want: Any
    extra: list[tuple[str, bool, str, str]] = field(default_factory=list)


def _case(g: Grader, fn: Callable, case: tuple) -> Run:
    label, make, prompt, width, steps, eos, alpha = case

    def run(search: Callable) -> Any:
        return search(make(), list(prompt), width, steps, eos_id=eos, length_penalty=alpha)

    from dlf.sampling.beam import beam_search

    on = f"{label}, prompt {prompt}, beam_width {width}, max_new_tokens {steps}"
    on += f", eos_id {eos}, length_penalty {alpha:g}"
    with g.case(on):
        got = g.call(named(run, "beam_search"), fn)
    return Run(on, run, list(prompt), got, run(beam_search))


def _cache_case(g: Grader, fn: Callable) -> Run:
    from dlf.sampling.beam import beam_search, index_cache

    prompt, width, steps, eos, alpha = [1, 3], 3, 6, 0, 0.6

    def run(search: Callable, model: Recurrent | None = None, reorder: Any = None) -> Any:
        return search(
            model or Recurrent(6, 4, 11),
            list(prompt),
            width,
            steps,
            eos_id=eos,
            length_penalty=alpha,
            reorder_cache=reorder or index_cache,
        )

    on = f"a recurrent model with a cache, prompt {prompt}, beam_width {width}, max_new_tokens "
    on += f"{steps}, eos_id {eos}, length_penalty {alpha:g}"
    model, recorder = Recurrent(6, 4, 11), Recorder()
    with g.case(on), g.advice(*CACHE_ADVICE):
        got = g.call(named(run, "beam_search"), fn, model, recorder)
    extra = [
        (
            "step_fn gets back the cache it returned",
            model.calls_without_cache == 0,
            f"{model.calls_without_cache} of {model.calls} calls got cache=None after the first",
            "pass the cache that step_fn returned to its next call: logits, cache = "
            "step_fn(running, cache)",
        ),
        (
            "the cache rows are reordered with reorder_cache (the argument)",
            recorder.calls > 0,
            "reorder_cache was never called",
            "after choosing the beams, cache = reorder_cache(cache, rows): the argument, which "
            "a model with another cache layout replaces",
        ),
    ]
    return Run(on, run, list(prompt), got, run(beam_search), extra)


def grade(g: Grader) -> None:
    fn = g.function("beam_search")
    runs: list[Run] = []
    stopped = None
    with one_torch_thread():
        try:
            for case in CASES:
                runs.append(_case(g, fn, case))
            runs.append(_cache_case(g, fn))
        except LearnerError as err:
            stopped = err  # the cases before it are still reported
        diagnosis = _diagnose(runs)
        for r in runs:
            with g.case(r.on):
                _compare(g, r.got, r.want, diagnosis, r.prompt)
                for what, passed, detail, advice in r.extra:
                    g.check(what, passed, detail, advice)
    if stopped is not None:
        raise stopped


EXERCISE = Exercise(
    name="beam-search",
    module=4,
    number=8,
    title="Beam search with a length penalty",
    concept="Beam search",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Keep, for the running hypotheses, their ids (B, T) and log-probabilities (B,) in "
        "float64; start with the prompt alone (as_prompt) and log P = 0. Each step: logits, "
        "cache = step_fn(running, cache), then log_probs = torch.log_softmax(logits.double(), "
        "-1).",
        "All the candidates at once: extended = (running_log_prob[:, None] + log_probs)"
        ".reshape(-1), (B * V,); score them with length_normalised_score(extended, step + 1, "
        "length_penalty) and append the scores of the ended hypotheses (torch.cat).",
        "For each index of top_candidates(scores, beam_width): below B * V it is "
        "row, token = divmod(index, V); an eos token makes a finished Hypothesis (kept in the "
        "beam), any other token a new running row; beyond B * V it is an ended hypothesis "
        "that stays.",
        "After the choice: running = torch.cat([running[rows], tokens[:, None]], dim=1), "
        "running_log_prob = extended[rows * V + tokens], cache = reorder_cache(cache, rows). "
        "At the end, score the running rows too and return the best of everything.",
    ),
)
