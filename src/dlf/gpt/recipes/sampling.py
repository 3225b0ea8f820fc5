"""sampling: one prompt, every decoding strategy of ``dlf.sampling``, side by side.

A small character-level GPT (trained here in seconds, or loaded with ``init_from=RUN_DIR`` from a
``gpt-shakespeare-char`` run) continues one prompt under greedy decoding, temperature 0.7 / 1.0 /
1.3, top-k, top-p, beam search and a repetition penalty. Each text is measured: distinct-n of its
words (Li et al. 2016), the share of its character 8-grams that repeat an earlier one (loops),
the share of its words that occur in Tiny Shakespeare (spelling), and the mean log-probability
the model gives its own tokens (how "safe" the choice was).
"""

from __future__ import annotations

import functools
import html
import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from dlf.bench import load_average
from dlf.data import load_text
from dlf.gpt.diversity import distinct_n, repetition_rate, words
from dlf.gpt.model import GPTConfig
from dlf.gpt.recipes.small_gpt import SmallGPT, load_char_gpt, train_char_gpt
from dlf.gpt.train import TrainConfig
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigMap, ranged
from dlf.runs import RunDir, line_plot, new_figure
from dlf.sampling import beam_search, generate, greedy, sample
from dlf.transformer.seq2seq_training import torch_threads


@dataclass
class SamplingConfig:
    """``init_from``: a gpt-shakespeare-char run directory ("" trains a GPT here with the
    model/training fields below). ``samples``: texts per stochastic strategy (the figures are
    their mean; the first is shown)."""

    init_from: str = ""  # a gpt-shakespeare-char run directory ("" trains a small GPT here)
    n_layer: int = ranged(4, ge=1)  # transformer blocks of the GPT trained here
    n_head: int = ranged(4, ge=1)  # attention heads; n_embd must be a multiple of it
    n_embd: int = ranged(128, ge=1)  # width of the residual stream
    block_size: int = ranged(64, ge=1)  # context length in characters
    max_steps: int = ranged(1500, ge=1)  # training steps
    batch_size: int = ranged(12, ge=1)  # windows per step
    learning_rate: float = ranged(2e-3, gt=0, lt=math.inf)  # peak learning rate
    warmup_steps: int = ranged(50, ge=0)  # linear warm-up steps
    eval_interval: int = ranged(250, ge=1)  # steps between evaluations
    eval_batches: int = ranged(10, ge=1)  # fixed batches per evaluation
    prompt: str = "ROMEO:\n"  # what every strategy continues
    new_tokens: int = ranged(400, ge=1)  # characters generated after the prompt
    samples: int = ranged(4, ge=1)  # texts per stochastic strategy
    top_k: int = ranged(10, ge=1)  # top-k sampling keeps the k likeliest characters
    top_p: float = ranged(0.9, gt=0, le=1)  # top-p keeps the likeliest with this much mass
    beam_width: int = ranged(4, ge=1)  # hypotheses kept by beam search
    length_penalty: float = ranged(1.0, ge=0, lt=math.inf)  # beam score / length ** this
    repetition_penalty: float = ranged(1.3, gt=0, lt=math.inf)  # divides repeated tokens' logits
    seed: int = ranged(0, ge=0)  # the GPT's training and the samples
    threads: int = ranged(1, ge=1)  # torch CPU threads


CONFIG_MAP = ConfigMap(
    SamplingConfig,
    (GPTConfig, TrainConfig),
    own={
        "init_from", "prompt", "new_tokens", "samples", "top_k", "top_p", "beam_width",
        "length_penalty", "repetition_penalty", "threads",
    },
)  # fmt: skip


def preflight(config: SamplingConfig) -> None:
    """The rules between fields, GPTConfig's and TrainConfig's (ConfigError)."""
    CONFIG_MAP.check(config)


@dataclass
class Decoded:
    """One strategy's texts and their figures (means over the texts)."""

    name: str
    texts: list[str]
    figures: dict[str, float]


def text_figures(text: str, vocabulary: set[str], log_probs: list[float]) -> dict[str, float]:
    """distinct-1/2/3 of the words, rep-8 of the characters, the share of words (letters only,
    lower case) found in ``vocabulary``, and the mean log-probability per token."""
    ws = words(text)
    letters = [w for w in (re.sub(r"[^a-z']", "", w.lower()) for w in ws) if w]
    known = sum(w in vocabulary for w in letters) / max(len(letters), 1)
    return {
        "distinct_1": distinct_n(ws, 1),
        "distinct_2": distinct_n(ws, 2),
        "distinct_3": distinct_n(ws, 3),
        "char_rep_8": repetition_rate(text, 8),
        "known_words": known,
        "log_prob": float(np.mean(log_probs)) if log_probs else math.nan,
    }


def recording(step_fn):
    """Wrap a step_fn so that it keeps the log-softmax of every logits row it returns (batch 1),
    to score the tokens generated from them. Returns ``(wrapped, kept)``."""
    kept: list[torch.Tensor] = []

    def wrapped(ids, cache):
        logits, cache = step_fn(ids, cache)
        kept.append(torch.log_softmax(logits[0].double(), dim=-1))
        return logits, cache

    return wrapped, kept


def obeys(rule: str, row: torch.Tensor, token: int, config: SamplingConfig) -> bool:
    """Whether ``token`` keeps the rule of strategy ``rule`` ("greedy", "top-k", "top-p") given
    the log-probabilities ``row`` (V,) of the logits it was drawn from: greedy takes a likeliest
    token; top-k one with fewer than k tokens likelier; top-p one whose likelier tokens hold
    less than p of the probability (up to float32 rounding of the filter's softmax).
    Example: row log([0.5, 0.3, 0.2]), token 1: greedy no, top-k k=2 yes, top-p p=0.5 no."""
    likelier = row > row[token]
    if rule == "greedy":
        return not bool(likelier.any())
    if rule == "top-k":
        return int(likelier.sum()) < config.top_k
    return float(row[likelier].exp().sum()) < config.top_p + 1e-6


def decode_all(gpt: SmallGPT, config: SamplingConfig) -> tuple[list[Decoded], dict[str, float]]:
    """Every strategy on ``config.prompt``: deterministic ones once, stochastic ones
    ``config.samples`` times with seeds ``seed, seed + 1, ...``. Also returns, for greedy,
    top-k and top-p, the share of their tokens that keep the strategy's rule (:func:`obeys`)."""
    model, tok = gpt.model, gpt.tokenizer
    prompt = tok.encode(config.prompt)
    c = config
    stochastic = {
        "temperature 0.7": dict(temperature=0.7),
        "temperature 1.0": dict(temperature=1.0),
        "temperature 1.3": dict(temperature=1.3),
        f"top-k {c.top_k}": dict(temperature=1.0, top_k=c.top_k),
        f"top-p {c.top_p:g}": dict(temperature=1.0, top_p=c.top_p),
    }
    rules = {"greedy": "greedy", f"top-k {c.top_k}": "top-k", f"top-p {c.top_p:g}": "top-p"}
    runs: dict[str, list[tuple[list[int], list[float]]]] = {}
    kept = {name: [] for name in rules}

    def run_generate(name: str, strategy, penalty: float = 1.0):
        step_fn, rows = recording(model.step_fn())
        ids = list(generate(step_fn, prompt, c.new_tokens, strategy, repetition_penalty=penalty))
        if name in rules:
            kept[name] += [obeys(rules[name], rows[i], t, c) for i, t in enumerate(ids)]
        return ids, [float(rows[i][t]) for i, t in enumerate(ids)]

    runs["greedy"] = [run_generate("greedy", greedy)]
    for name, settings in stochastic.items():
        runs[name] = []
        for k in range(c.samples):
            g = torch.Generator().manual_seed(c.seed + k)
            strategy = functools.partial(sample, generator=g, **settings)
            runs[name].append(run_generate(name, strategy))
    beam = beam_search(model.step_fn(), prompt, c.beam_width, c.new_tokens,
                       length_penalty=c.length_penalty)  # fmt: skip
    runs[f"beam search (width {c.beam_width})"] = [(beam.ids, [beam.log_prob / len(beam.ids)])]
    runs[f"greedy + repetition penalty {c.repetition_penalty:g}"] = [
        run_generate("penalty", greedy, c.repetition_penalty)
    ]
    vocabulary = set(re.findall(r"[a-z']+", load_text("tinyshakespeare").lower()))
    decoded = []
    for name, outputs in runs.items():
        texts = [tok.decode(ids) for ids, _ in outputs]
        per_text = [
            text_figures(t, vocabulary, lp) for t, (_, lp) in zip(texts, outputs, strict=True)
        ]
        figures = {key: float(np.mean([f[key] for f in per_text])) for key in per_text[0]}
        decoded.append(Decoded(name, texts, figures))
    return decoded, {name: float(np.mean(flags)) for name, flags in kept.items()}


def state_effects(run_dir: RunDir, decoded: list[Decoded], obeyed: dict[str, float]) -> None:
    """What the quick setting shows: each filter keeps its rule at every token, and a lower
    temperature picks likelier tokens."""
    for name, share in obeyed.items():
        rule = {
            "greedy": "greedy decoding takes the likeliest token at every step",
            "top-k": "top-k sampling draws every token from the k likeliest",
            "top-p": "top-p sampling draws every token from the nucleus (the likeliest tokens "
            "holding p of the probability)",
        }[name.split(" ")[0]]
        run_dir.effect(rule, share == 1.0, f"{name}: {share:.0%} of the tokens keep the rule")
    by = {d.name: d.figures["log_prob"] for d in decoded}
    cool, hot = by["temperature 0.7"], by["temperature 1.3"]
    run_dir.effect(
        "a lower temperature picks likelier tokens",
        cool > hot,
        f"mean log p per token {cool:.3f} at temperature 0.7, {hot:.3f} at 1.3",
    )


def diversity_plot(decoded: list[Decoded]):
    """Grouped bars: distinct-1/2/3 and char rep-8 for every strategy."""
    keys = [("distinct_1", "distinct-1"), ("distinct_2", "distinct-2"),
            ("distinct_3", "distinct-3"), ("char_rep_8", "repeated char 8-grams")]  # fmt: skip
    fig, axes = new_figure(size=(9.0, 4.2))
    ax = axes[0, 0]
    x = np.arange(len(decoded))
    width = 0.8 / len(keys)
    for j, (key, label) in enumerate(keys):
        ax.bar(x + (j - 1.5) * width, [d.figures[key] for d in decoded], width, label=label)
    ax.set_xticks(x, [d.name.replace(" + ", "\n+ ") for d in decoded], fontsize=7, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction")
    ax.legend(fontsize="small", ncol=4, loc="upper center", bbox_to_anchor=(0.5, 1.13))
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def commentary(decoded: list[Decoded]) -> str:
    """The report's reading of the figures, written from the measured numbers."""
    by = {d.name: d.figures for d in decoded}
    names = [d.name for d in decoded]
    beam = next(n for n in names if n.startswith("beam"))
    penalty = names[-1]
    top_k = next(n for n in names if n.startswith("top-k"))
    top_p = next(n for n in names if n.startswith("top-p"))
    g, b, p = by["greedy"], by[beam], by[penalty]
    cool, warm, hot = by["temperature 0.7"], by["temperature 1.0"], by["temperature 1.3"]
    broke = p["char_rep_8"] < g["char_rep_8"] - 0.1
    return (
        f"Greedy decoding and {beam} choose the likeliest tokens (mean log p per token "
        f"{g['log_prob']:.2f} and {b['log_prob']:.2f}, against {warm['log_prob']:.2f} when "
        f"sampling at temperature 1.0), and loop: {g['char_rep_8']:.0%} and "
        f"{b['char_rep_8']:.0%} of their character 8-grams repeat an earlier one "
        f"(temperature 1.0: {warm['char_rep_8']:.0%}). Temperature trades variety for "
        f"spelling: distinct-1 of the words goes {cool['distinct_1']:.2f} / "
        f"{warm['distinct_1']:.2f} / {hot['distinct_1']:.2f} at 0.7 / 1.0 / 1.3, while the "
        f"share of words found in Shakespeare goes {cool['known_words']:.0%} / "
        f"{warm['known_words']:.0%} / {hot['known_words']:.0%}. {top_k} and {top_p} cut the "
        f"unreliable tail: {by[top_k]['known_words']:.0%} and {by[top_p]['known_words']:.0%} "
        f"real words with distinct-1 {by[top_k]['distinct_1']:.2f} and "
        f"{by[top_p]['distinct_1']:.2f}. "
        + (
            f"The repetition penalty reduces greedy's loops (repeated 8-grams "
            f"{g['char_rep_8']:.0%} -> {p['char_rep_8']:.0%})."
            if broke
            else f"The repetition penalty hardly breaks greedy's loops here (repeated 8-grams "
            f"{g['char_rep_8']:.0%} -> {p['char_rep_8']:.0%}): at character level nearly every "
            "letter has been seen after a few words, so the penalty lowers almost all "
            "candidates alike; it is meant for word or subword tokens."
        )
    )


def run(config: SamplingConfig, run_dir: RunDir) -> dict:
    with torch_threads(config.threads):
        if config.init_from:
            gpt = load_char_gpt(config.init_from)
        else:
            model_config = CONFIG_MAP.build(GPTConfig, config, dropout=0.0, attention="fused")
            train_config = CONFIG_MAP.build(TrainConfig, config, device="cpu")
            gpt = train_char_gpt(load_text("tinyshakespeare"), model_config, train_config, run_dir)
        run_dir.say(f"the model: {gpt.source}")
        decoded, obeyed = decode_all(gpt, config)
    state_effects(run_dir, decoded, obeyed)

    if gpt.result is not None:
        run_dir.figure(
            "gpt_loss",
            line_plot(
                {
                    "train (batch)": run_dir.series("gpt_loss"),
                    "validation": run_dir.series("gpt_val_loss"),
                },
                "step",
                "cross-entropy (nats/char)",
            ),  # fmt: skip
            caption="Training of the small GPT that is sampled below.",
        )
    run_dir.text("The model", gpt.source)
    run_dir.figure("diversity", diversity_plot(decoded),
                   caption="Distinct word 1/2/3-grams (higher: more varied) and the share of "
                   "character 8-grams that repeat an earlier one (higher: loops), per strategy; "
                   f"stochastic strategies: mean of {config.samples} samples.")  # fmt: skip
    run_dir.table(
        f"Figures per strategy ({config.new_tokens} new characters after {config.prompt!r})",
        ["strategy", "distinct-1", "distinct-2", "distinct-3", "repeated char 8-grams",
         "words found in Shakespeare", "mean log p per token"],
        [[d.name, *(f"{d.figures[k]:.3f}" for k in ("distinct_1", "distinct_2", "distinct_3",
          "char_rep_8", "known_words")), f"{d.figures['log_prob']:.3f}"] for d in decoded],
    )  # fmt: skip
    cells = [
        f"<b>{html.escape(d.name)}</b><pre>{html.escape(config.prompt + d.texts[0])}</pre>"
        for d in decoded
    ]
    rows = [cells[i : i + 2] + [""] * (2 - len(cells[i : i + 2])) for i in range(0, len(cells), 2)]
    run_dir.report.heading("The texts, side by side (first sample of each strategy)")
    run_dir.report.table(["", ""], rows, raw_html=True)
    load = load_average()
    run_dir.text("What this shows", commentary(decoded) + f" (Load average {load:.1f}.)")
    summary: dict = {f"{d.name}": {k: round(v, 4) for k, v in d.figures.items()} for d in decoded}
    if gpt.result is not None:
        summary["gpt_val_loss"] = gpt.result.final_val_loss
        summary["gpt_train_seconds"] = round(gpt.result.train_seconds, 2)
    summary["strategies"] = len(decoded)
    summary["load_average"] = round(load, 2)
    return summary


RECIPE = Recipe(
    name="sampling",
    module=4,
    description="one prompt under every decoding strategy: distinct-n and repetition",
    config=SamplingConfig,
    run=run,
    quick={
        "n_layer": 2,
        "n_embd": 64,
        "block_size": 32,
        "max_steps": 50,
        "warmup_steps": 10,
        "eval_interval": 25,
        "new_tokens": 100,
        "samples": 1,
        "beam_width": 2,
    },
    datasets=lambda c: ("tinyshakespeare",),
    preflight=preflight,
)
