"""Module 4's critical checkpoints, each proven by a number on synthetic data in about a second.

``dlf checkpoints`` runs the list ``CHECKPOINTS``; each check returns ``Evidence(passed, figure)``.
The GPTs here are tiny (2 layers, 32 wide) and run in float64, so "equal" means equal to
round-off (~1e-12), and "exactly zero" means 0.0.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np
import torch

from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.numpy_twin import gradient_parity, with_random_vectors
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.train import TrainConfig, accumulate_gradients, train
from dlf.path import Checkpoint, Evidence
from dlf.sampling import beam_search, filter_logits, generate, greedy, sample

EXACT = 1e-10  # float64 round-off of these small sums, with a wide margin
PARITY = 1e-8  # the NumPy GPT against autograd, relative: float64 round-off with a wide margin
SPECIAL = "<|endoftext|>"


def tiny_gpt(seed: int = 0, **changes) -> GPT:
    """A 2-layer, 4-head, 32-wide GPT over 13 tokens with a context of 12, in float64."""
    base = dict(block_size=12, vocab_size=13, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**base, **changes})).double()


def random_unicode(rng: np.random.Generator, length: int) -> str:
    """A string of ``length`` code points drawn from ASCII, Latin/Greek/Cyrillic, CJK, emoji and
    the whole Unicode range (surrogates, which have no UTF-8 form, excluded), with the special
    token ``<|endoftext|>`` and its fragments mixed in.
    Example: ``random_unicode(np.random.default_rng(0), 5)`` -> e.g. ``'k<|endoftext|>é😀 '``.
    """
    ranges = [(0x20, 0x7F), (0x00, 0x20), (0xA0, 0x500), (0x4E00, 0x9FFF), (0x1F300, 0x1FAFF)]
    parts: list[str] = []
    for _ in range(length):
        kind = int(rng.integers(0, 8))
        if kind == 6:
            parts.append(SPECIAL if rng.random() < 0.7 else SPECIAL[: int(rng.integers(1, 12))])
            continue
        if kind == 7:
            code = int(rng.integers(0, 0x110000))
            if 0xD800 <= code <= 0xDFFF:
                code = 0xFFFD
        else:
            low, high = ranges[min(kind, len(ranges) - 1)]
            code = int(rng.integers(low, high))
        parts.append(chr(code))
    return "".join(parts)


def check_bpe_round_trip(n_strings: int = 300) -> Evidence:
    """``decode(encode(s)) == s`` for random Unicode strings, with ``<|endoftext|>`` kept as one
    id, for a BPE trained here (GPT-4 splitting, 400 tokens)."""
    rng = np.random.default_rng(0)
    corpus = "".join(random_unicode(rng, 40) + " the cat sat on the mat. " for _ in range(60))
    tokenizer = BPETokenizer.train(corpus, 400, pattern="gpt4", special_tokens=[SPECIAL])
    special_id = tokenizer.special_tokens[SPECIAL]
    failures, specials_seen, specials_whole = 0, 0, 0
    for _ in range(n_strings):
        s = random_unicode(rng, int(rng.integers(0, 60)))
        ids = tokenizer.encode(s, allowed_special="all")
        failures += tokenizer.decode(ids) != s
        specials_seen += s.count(SPECIAL)
        specials_whole += ids.count(special_id)
    return Evidence(
        failures == 0 and specials_whole == specials_seen,
        f"{n_strings - failures}/{n_strings} random Unicode strings round-trip; "
        f"{specials_whole}/{specials_seen} {SPECIAL} encoded as the single id {special_id}",
    )


def check_causal_masking() -> Evidence:
    """In our GPT, output t does not depend on input t' > t: the gradient of the logits at t
    with respect to the input embedding at t' is exactly 0 (both attention kernels)."""
    figures, passed = [], True
    for attention in ("ours", "fused"):
        model = tiny_gpt(attention=attention).eval()
        T = model.config.block_size
        captured: list[torch.Tensor] = []
        wte = model.transformer.wte
        hook = wte.register_forward_hook(lambda m, i, out, kept=captured: kept.append(out))
        idx = torch.randint(0, model.config.vocab_size, (1, T), generator=torch.Generator())
        logits, _ = model(idx)
        hook.remove()
        embedding = captured[0]  # (1, T, C): the token embeddings, inside the graph
        future, past = 0.0, math.inf
        for t in range(T):
            (grad,) = torch.autograd.grad(logits[0, t].sum(), embedding, retain_graph=True)
            norms = grad[0].norm(dim=-1)  # (T,): |d out_t / d x_t'| for every t'
            if t + 1 < T:
                future = max(future, float(norms[t + 1 :].abs().max()))
            past = min(past, float(norms[: t + 1].min()))
        passed &= future == 0.0 and past > 0.0
        figures.append(f"{attention}: max |d out_t/d x_t'| (t'>t) = {future:g}, min (t'<=t) = "
                       f"{past:.1e}")  # fmt: skip
    return Evidence(passed, "; ".join(figures))


def check_gradient_accumulation(k: int = 4, micro: int = 3) -> Evidence:
    """The gradient accumulated over k micro-batches of B windows equals the gradient of one
    batch of k*B windows (``dlf.gpt.train.accumulate_gradients``)."""
    model = tiny_gpt(seed=1)
    g = torch.Generator().manual_seed(0)
    V, T = model.config.vocab_size, model.config.block_size
    x = torch.randint(0, V, (k * micro, T), generator=g)
    y = torch.randint(0, V, (k * micro, T), generator=g)
    accumulate_gradients(
        model, [(x[i : i + micro], y[i : i + micro]) for i in range(0, k * micro, micro)]
    )
    accumulated = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    accumulate_gradients(model, [(x, y)])
    diff = max(
        float((a - p.grad).abs().max())
        for a, p in zip(accumulated, model.parameters(), strict=True)
    )
    scale = max(float(p.grad.abs().max()) for p in model.parameters())
    return Evidence(
        diff < EXACT * max(scale, 1.0),
        f"{k} micro-batches of {micro} vs one batch of {k * micro}: max |grad diff| = {diff:.1e} "
        f"(largest gradient {scale:.1e})",
    )


def kept_set(logits: np.ndarray, top_k: int | None, top_p: float | None) -> set[int]:
    """The tokens top-k then top-p may keep, computed from the definition with NumPy (float64):
    the k largest logits (ties at the k-th kept), then the smallest most-probable prefix whose
    renormalised probability reaches p.
    Example: logits ``log([0.1, 0.5, 0.3, 0.1])``, top_p 0.7 -> ``{1, 2}``.
    """
    candidates = np.arange(len(logits))
    if top_k is not None:
        kth = np.sort(logits)[::-1][min(top_k, len(logits)) - 1]
        candidates = candidates[logits[candidates] >= kth]
    if top_p is not None:
        z = logits[candidates]
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        order = np.argsort(-probs, kind="stable")
        before = np.cumsum(probs[order]) - probs[order]
        # a margin: tokens whose mass-before is within round-off of p may go either way
        candidates = candidates[order[before < top_p + 1e-6]]
    return {int(i) for i in candidates}


def check_top_k_top_p(draws_per_row: int = 2000, rows: int = 20) -> Evidence:
    """``sample`` with top-k or top-p never returns a token outside the kept set."""
    g = torch.Generator().manual_seed(0)
    V = 50
    logits = torch.randn(rows, V, generator=g, dtype=torch.float64) * 2.0
    outside, total, wrong_sets = 0, 0, 0
    for top_k, top_p in ((5, None), (None, 0.8), (10, 0.6)):
        for r in range(rows):
            allowed = kept_set(logits[r].numpy(), top_k, top_p)
            row = logits[r].expand(draws_per_row, V)
            ids = sample(row, temperature=1.0, top_k=top_k, top_p=top_p, generator=g)
            outside += sum(int(i) not in allowed for i in ids.tolist())
            total += draws_per_row
            filtered = filter_logits(logits[r], top_k=top_k, top_p=top_p)
            kept = set(torch.nonzero(torch.isfinite(filtered)).reshape(-1).tolist())
            wrong_sets += not kept <= allowed
    return Evidence(
        outside == 0 and wrong_sets == 0,
        f"{outside} of {total:,} draws (top-k 5, top-p 0.8, both) outside the kept set; "
        f"{wrong_sets} of {3 * rows} filtered rows keep a token the rule excludes",
    )


def trap_step_fn(ids: torch.Tensor, cache):
    """A hand-made model that traps greedy decoding (vocabulary: 0 start, 1 A, 2 B, 3-6 other).

    After the start: A 0.6, B 0.4. After A: four tokens 3..6 at 0.25 each. After B: token 3 at
    0.96. Greedy takes A and ends with log 0.6 + log 0.25 = -1.90; B then 3 has log 0.4 +
    log 0.96 = -0.96. ``ids`` (B, T) -> last-position logits (B, 7) (log-probabilities).
    """
    probs = torch.full((ids.size(0), 7), 1e-6, dtype=torch.float64)
    for row, last in enumerate(ids[:, -1].tolist()):
        if last == 0:
            probs[row, 1], probs[row, 2] = 0.6, 0.4
        elif last == 1:
            probs[row, 3:7] = 0.25
        elif last == 2:
            probs[row, 3], probs[row, 4:7] = 0.96, 0.04 / 3
        else:
            probs[row, 3:7] = 0.25
    return probs.log(), None


def check_beam_search() -> Evidence:
    """Width-1 beam search equals greedy decoding on a random GPT, token for token; width 2 finds
    a sequence of higher log-probability than greedy on a case built to trap greedy."""
    model = tiny_gpt(seed=2).eval()
    prompt = [1, 2, 3]
    n = model.config.block_size - len(prompt)
    greedy_ids = list(generate(model.step_fn(), prompt, n, greedy))
    beam1 = beam_search(model.step_fn(), prompt, beam_width=1, max_new_tokens=n, length_penalty=0)
    greedy_trap = list(generate(trap_step_fn, [0], 2, greedy))
    logp_greedy = float(sum(trap_step_fn(torch.tensor([[0, *greedy_trap[:i]]]), None)[0][0, t]
                            for i, t in enumerate(greedy_trap)))  # fmt: skip
    beam2 = beam_search(trap_step_fn, [0], beam_width=2, max_new_tokens=2, length_penalty=0)
    same = beam1.ids == greedy_ids
    return Evidence(
        same and beam2.log_prob > logp_greedy + 0.5,
        f"width 1 = greedy on {n} tokens: {same}; trap: greedy {greedy_trap} log p = "
        f"{logp_greedy:.2f}, width 2 {beam2.ids} log p = {beam2.log_prob:.2f}",
    )


def check_resume() -> Evidence:
    """Training 3 steps, stopping, and resuming to 6 from the checkpoint gives the losses of an
    uninterrupted 6-step run (dropout on, so the restored RNG state matters too)."""
    rng = np.random.default_rng(0)
    tokens = (np.cumsum(rng.choice([1, 1, 2], size=400)) % 13).astype(np.int64)
    common = dict(batch_size=4, warmup_steps=2, lr_decay_steps=6, eval_interval=1000,
                  eval_batches=1, log_interval=1, device="cpu", seed=5)  # fmt: skip

    def run(max_steps: int, folder: str) -> list[tuple[int, float]]:
        model = tiny_gpt(seed=3, dropout=0.1).float()
        return train(model, tokens[:300], tokens[300:], TrainConfig(max_steps=max_steps, **common),
                     checkpoint_dir=folder).losses  # fmt: skip

    with tempfile.TemporaryDirectory() as whole, tempfile.TemporaryDirectory() as split:
        uninterrupted = run(6, whole)
        first = run(3, split)
        resumed = run(6, split)
    combined = first + resumed
    steps_match = [s for s, _ in combined] == [s for s, _ in uninterrupted]
    diff = max(abs(a - b) for (_, a), (_, b) in zip(combined, uninterrupted, strict=True))
    return Evidence(
        steps_match and diff == 0.0,
        f"steps 1-3 + resumed 4-6 vs uninterrupted 1-6: max |loss diff| = {diff:g} "
        f"(losses {uninterrupted[0][1]:.3f} -> {uninterrupted[-1][1]:.3f})",
    )


def check_numpy_gpt_gradients() -> Evidence:
    """The NumPy GPT (``dlf.scratch.gpt``, every backward by hand) with our GPT's weights gives
    its logits, loss and every parameter gradient to within 1e-8 relative (float64), with
    random LayerNorm gains and biases so that every term of every backward counts."""
    model = with_random_vectors(tiny_gpt(seed=2))
    g = torch.Generator().manual_seed(0)
    V, T = model.config.vocab_size, model.config.block_size
    idx, targets = (torch.randint(0, V, (3, T), generator=g) for _ in range(2))
    errors = gradient_parity(model, idx, targets)
    worst = max(errors, key=errors.get)
    return Evidence(
        errors[worst] <= PARITY,
        f"logits, loss and {len(errors) - 2} gradients: max relative error {errors[worst]:.1e} "
        f"({worst}; bound {PARITY:g})",
    )


CHECKPOINTS = [
    Checkpoint(4, "bpe-round-trip", "byte-level BPE decodes every Unicode string it encoded, "
               "special tokens kept whole", check_bpe_round_trip),
    Checkpoint(4, "causal-masking", "GPT output t has exactly zero gradient w.r.t. input t+1..T",
               check_causal_masking),
    Checkpoint(4, "gradient-accumulation", "k micro-batches accumulate the gradient of one "
               "batch k times larger", check_gradient_accumulation),
    Checkpoint(4, "top-k-top-p", "top-k and top-p never emit a token outside their sets",
               check_top_k_top_p),
    Checkpoint(4, "beam-search", "width-1 beam search is greedy; wider beams beat greedy's "
               "log-probability on a built case", check_beam_search),
    Checkpoint(4, "resume", "a resumed run continues the loss trajectory of an uninterrupted "
               "one", check_resume),
    Checkpoint(4, "numpy-gpt-gradients", "the NumPy GPT's gradients equal autograd's",
               check_numpy_gpt_gradients),
]  # fmt: skip
