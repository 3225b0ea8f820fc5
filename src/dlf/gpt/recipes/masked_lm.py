"""masked-lm: encoder-only, decoder-only, encoder-decoder, side by side.

A small BERT-style masked language model (:mod:`dlf.gpt.masked_lm`, Module 3's encoder) is
trained on Tiny Shakespeare at character level: 15% of the characters are chosen, 80% of those
replaced by [MASK], 10% by a random character, 10% left, and the model predicts them from both
sides. A GPT of the same shape, trained on the same text for as many steps (or loaded with
``gpt_init_from=RUN_DIR``), predicts the next character from the left only; a small Module 3
Transformer learns a sequence-to-sequence task. The report draws the three attention masks,
shows what each model predicts, measures fill-in-the-blank accuracy of the masked LM against
the GPT at the same held-out positions, and says what each kind is for.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from dlf.data import load_text
from dlf.data.sequences import TASKS, make_task
from dlf.gpt.data import TokenDataset, split_tokens
from dlf.gpt.masked_lm import IGNORE, MaskedLM, MaskedLMConfig, mask_tokens, train_masked_lm
from dlf.gpt.model import GPTConfig
from dlf.gpt.recipes.small_gpt import SmallGPT, load_char_gpt, prefixed_log, train_char_gpt
from dlf.gpt.tokenizer import CharTokenizer
from dlf.gpt.train import TrainConfig
from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ConfigMap, ranged
from dlf.runs import RunDir, line_plot, new_figure
from dlf.sampling import generate, sample
from dlf.transformer.attention import causal_mask, padding_mask
from dlf.transformer.model import Transformer, TransformerConfig
from dlf.transformer.seq2seq_training import TrainSettings, evaluate, torch_threads, train


@dataclass
class MaskedLMRecipeConfig:
    """The masked LM and the GPT share the shape and training fields (``n_layer`` ...
    ``learning_rate``) and ``positional``, the positions of both (see ``MaskedLMConfig``: RoPE
    helps the masked LM most; ``GPTConfig.positional``); ``gpt_init_from`` loads the GPT from a
    gpt-shakespeare-char run instead (with the positions it was trained with). ``seq2seq_*``: the
    Module 3 Transformer (a task of ``dlf.data.sequences``)."""

    n_layer: int = ranged(4, ge=1)  # blocks of the masked LM and of the GPT
    n_head: int = ranged(4, ge=1)  # attention heads; n_embd must be a multiple of it
    n_embd: int = ranged(128, ge=1)  # width of the residual stream
    block_size: int = ranged(64, ge=1)  # context length in characters
    max_steps: int = ranged(1000, ge=1)  # training steps of each model
    batch_size: int = ranged(12, ge=1)  # windows per step
    learning_rate: float = ranged(2e-3, gt=0, lt=math.inf)  # peak learning rate
    warmup_steps: int = ranged(50, ge=0)  # linear warm-up steps
    eval_interval: int = ranged(100, ge=1)  # steps between evaluations
    eval_batches: int = ranged(20, ge=1)  # fixed batches per evaluation
    log_interval: int = ranged(10, ge=1)  # steps between logged training losses
    mask_prob: float = ranged(0.15, gt=0, lt=1)  # share of the characters hidden
    positional: Literal["rope", "learned"] = "rope"  # the positions of both models
    gpt_init_from: str = ""  # a gpt-shakespeare-char run directory ("" trains a GPT here)
    seq2seq_task: str = "reverse"  # a task of dlf.data.sequences for the encoder-decoder
    seq2seq_steps: int = ranged(600, ge=1)  # training steps of the encoder-decoder
    seq2seq_d_model: int = ranged(64, ge=4)  # its width (4 heads)
    examples: int = ranged(6, ge=1)  # fill-in examples shown
    sample_tokens: int = ranged(200, ge=0)  # characters the GPT writes after its prompt
    seed: int = ranged(0, ge=0)  # weights, batches, masks and samples
    threads: int = ranged(1, ge=1)  # torch CPU threads


# One map per model, so that a field renamed in either library config stops the recipe: the
# GPT's (GPTConfig, TrainConfig) and the masked LM's (MaskedLMConfig, TrainConfig).
OWN = {
    "mask_prob", "gpt_init_from", "seq2seq_task", "seq2seq_steps", "seq2seq_d_model",
    "examples", "sample_tokens", "threads",
}  # fmt: skip
CONFIG_MAP = ConfigMap(MaskedLMRecipeConfig, (GPTConfig, TrainConfig), own=OWN)
MLM_MAP = ConfigMap(MaskedLMRecipeConfig, (MaskedLMConfig, TrainConfig), own=OWN)


def preflight(config: MaskedLMRecipeConfig) -> None:
    """The rules between fields (ConfigError): the library configs' (GPTConfig, MaskedLMConfig,
    TrainConfig), the seq2seq width split over its 4 heads, a task that exists."""
    CONFIG_MAP.check(config)
    MLM_MAP.check(config)
    if config.seq2seq_d_model % 4:
        raise ConfigError(f"seq2seq_d_model must be a multiple of 4, got {config.seq2seq_d_model}")
    if config.seq2seq_task not in TASKS:
        raise ConfigError(f"seq2seq_task must be one of {', '.join(TASKS)}")


def shown(text: str) -> str:
    """Newlines as ``⏎`` so that a text fits one table cell. Example: ``"a\\nb"`` -> ``"a⏎b"``."""
    return text.replace("\n", "⏎")


def masks_figure(n_src: int = 7, n_pad: int = 2, n_tgt: int = 5):
    """The three attention masks, True (may attend) drawn dark: bidirectional self-attention
    over a padded source (encoder-only), causal self-attention (decoder-only), and the
    cross-attention of a decoder over that source (encoder-decoder)."""
    src = torch.tensor([[1] * (n_src - n_pad) + [0] * n_pad])
    pad = f"key (source; {n_src - n_pad}-{n_src - 1} padding)"
    bidirectional = padding_mask(src, 0)[0, 0].expand(n_src, n_src)
    causal = causal_mask(n_tgt)
    cross = padding_mask(src, 0)[0, 0].expand(n_tgt, n_src)
    panels = [
        (bidirectional, "encoder-only: bidirectional\n(every token sees every real token)",
         pad, "query (source)"),
        (causal, "decoder-only: causal\n(token t sees tokens <= t)", "key", "query"),
        (cross, "encoder-decoder: cross-attention\n(each output sees the whole source)",
         pad, "query (target)"),
    ]  # fmt: skip
    fig, axes = new_figure(3, 1, size=(3.4, 3.4))
    for ax, (mask, title, xlabel, ylabel) in zip(axes[0], panels, strict=True):
        ax.imshow(mask.float().numpy(), cmap="Greys", vmin=0, vmax=1.25)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xticks(range(mask.shape[1]))
        ax.set_yticks(range(mask.shape[0]))
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


@torch.no_grad()
def fill_in_accuracy(
    mlm: MaskedLM, gpt: SmallGPT, tokenizer: CharTokenizer, val_tokens: np.ndarray, config
) -> dict[str, float]:
    """Accuracy at the same chosen held-out positions (15%, position 0 excluded, all shown as
    [MASK] to the masked LM): the masked LM from both sides against the GPT from the true
    left context (its prediction for position t is read at t - 1)."""
    if gpt.tokenizer.chars != tokenizer.chars:
        raise ValueError("the GPT's tokenizer differs from the text's characters")
    T = min(mlm.config.block_size, gpt.model.config.block_size)
    data = TokenDataset(val_tokens, T)
    idx = np.random.default_rng([config.seed, 7]).choice(len(data), min(len(data), 400), False)
    g = torch.Generator().manual_seed(config.seed)
    hits = {"mlm": 0, "gpt": 0}
    count = 0
    for i in range(0, len(idx), 50):
        x, _ = data.batch(idx[i : i + 50])
        inputs, labels = mask_tokens(x, mlm.config.mask_id, mlm.config.vocab_size,
                                     config.mask_prob, g, replace=(1.0, 0.0))  # fmt: skip
        labels[:, 0] = IGNORE
        inputs[:, 0] = x[:, 0]
        chosen = labels != IGNORE
        mlm_pred = mlm(inputs)[0].argmax(-1)
        gpt_logits, _ = gpt.model(x)
        gpt_pred = torch.cat([torch.zeros_like(x[:, :1]), gpt_logits[:, :-1].argmax(-1)], dim=1)
        hits["mlm"] += int((mlm_pred[chosen] == x[chosen]).sum())
        hits["gpt"] += int((gpt_pred[chosen] == x[chosen]).sum())
        count += int(chosen.sum())
    return {"mlm": hits["mlm"] / count, "gpt": hits["gpt"] / count, "positions": count}


@torch.no_grad()
def fill_in_examples(mlm: MaskedLM, tokenizer: CharTokenizer, text: str, config) -> list[list]:
    """``config.examples`` held-out lines with 15% of their characters hidden: the masked text
    (``_`` for [MASK]), the masked LM's filled-in text, the truth, and the hits."""
    lines = [ln for ln in text.split("\n") if 30 <= len(ln) <= mlm.config.block_size]
    rng = np.random.default_rng(config.seed)
    g = torch.Generator().manual_seed(config.seed + 1)
    rows = []
    for line in rng.choice(lines, min(config.examples, len(lines)), replace=False):
        x = torch.tensor([tokenizer.encode(str(line))])
        inputs, labels = mask_tokens(x, mlm.config.mask_id, mlm.config.vocab_size,
                                     config.mask_prob, g, replace=(1.0, 0.0))  # fmt: skip
        chosen = labels[0] != IGNORE
        if not bool(chosen.any()):
            inputs[0, 1], labels[0, 1], chosen[1] = mlm.config.mask_id, x[0, 1], True
        pred = mlm(inputs)[0][0].argmax(-1)
        filled = torch.where(chosen, pred, x[0])
        masked = "".join("_" if c else ch for c, ch in zip(chosen.tolist(), str(line), strict=True))
        hits = int((pred[chosen] == x[0][chosen]).sum())
        rows.append([masked, tokenizer.decode(filled.tolist()), str(line),
                     f"{hits}/{int(chosen.sum())}"])  # fmt: skip
    return rows


def train_seq2seq(config: MaskedLMRecipeConfig, run_dir: RunDir):
    """A small Module 3 Transformer on ``config.seq2seq_task``; returns (exact match, rows)."""
    task = make_task(config.seq2seq_task, 4000, 200, 3, 8, 10, config.seed)
    torch.manual_seed(config.seed)
    d = config.seq2seq_d_model
    model = Transformer(TransformerConfig(
        vocab_size=len(task.vocab), d_model=d, n_heads=4, n_encoder_layers=2,
        n_decoder_layers=2, d_ff=2 * d, dropout=0.0, norm_first=True, max_len=32,
    ))  # fmt: skip
    every = max(1, config.seq2seq_steps // 10)
    settings = TrainSettings(steps=config.seq2seq_steps, batch_size=64, lr=1.0, warmup=100,
                             log_every=every, seed=config.seed)  # fmt: skip
    result = train(model, task, settings, log=prefixed_log(run_dir, "seq2seq_"))
    test = evaluate(model, task, task.test)
    pairs = zip(test.pairs[: config.examples], test.predictions, strict=False)
    rows = [[s, t, p, "yes" if p == t else "no"] for (s, t), p in pairs]
    return test.accuracy, rows, result.seconds


CHANCE_TIMES = 5  # the masked LM's accuracy must reach this many times a uniform guess's


def state_effects(
    run_dir: RunDir, vocab_size: int, accuracy: dict, mlm_val_loss: float, gpt: SmallGPT
) -> None:
    """What the quick setting shows: the masked LM fills in hidden characters far better than
    a uniform guess, and both models' losses fall below a uniform guess's, ln(V)."""
    chance = 1 / vocab_size
    run_dir.effect(
        f"the masked LM fills in hidden characters from their neighbours at least "
        f"{CHANCE_TIMES} times as often as a uniform guess (1/V)",
        accuracy["mlm"] >= CHANCE_TIMES * chance,
        f"{accuracy['mlm']:.1%} of {accuracy['positions']:,} held-out characters; 1/V = "
        f"{chance:.1%}",
    )
    uniform = math.log(vocab_size)
    losses = {"masked LM": mlm_val_loss}
    if gpt.result is not None:  # trained here, not loaded
        losses["GPT"] = gpt.result.final_val_loss
    run_dir.effect(
        "both models learn: their validation losses fall below ln(V), a uniform guess's",
        all(loss < uniform for loss in losses.values()),
        ", ".join(f"{name} {loss:.3f}" for name, loss in losses.items())
        + f"; ln({vocab_size}) = {uniform:.3f}",
    )


def run(config: MaskedLMRecipeConfig, run_dir: RunDir) -> dict:
    c = config
    text = load_text("tinyshakespeare")
    tokenizer = CharTokenizer.from_text(text)
    train_tokens, val_tokens = split_tokens(np.array(tokenizer.encode(text)), 0.1)
    train_config = CONFIG_MAP.build(TrainConfig, c, device="cpu")
    with torch_threads(c.threads):
        torch.manual_seed(c.seed)
        mlm = MaskedLM(MLM_MAP.build(MaskedLMConfig, c, vocab_size=tokenizer.vocab_size))
        run_dir.say(f"masked LM: {sum(p.numel() for p in mlm.parameters()):,} parameters")
        mlm_result = train_masked_lm(mlm, train_tokens, val_tokens, train_config, c.mask_prob,
                                     log=prefixed_log(run_dir, "mlm_"))  # fmt: skip
        if c.gpt_init_from:
            gpt = load_char_gpt(c.gpt_init_from)
        else:
            gpt_config = CONFIG_MAP.build(
                GPTConfig, c, vocab_size=tokenizer.vocab_size, dropout=0.0, attention="fused"
            )
            gpt = train_char_gpt(text, gpt_config, train_config, run_dir)
        accuracy = fill_in_accuracy(mlm, gpt, tokenizer, val_tokens, c)
        examples = fill_in_examples(mlm, tokenizer, text[int(len(text) * 0.9) :], c)
        g = torch.Generator().manual_seed(c.seed)
        prompt = "ROMEO:\n"
        ids = generate(gpt.model.step_fn(), gpt.tokenizer.encode(prompt), c.sample_tokens,
                       lambda z: sample(z, temperature=0.8, top_k=20, generator=g))  # fmt: skip
        gpt_sample = prompt + gpt.tokenizer.decode(list(ids))
        s2s_accuracy, s2s_rows, s2s_seconds = train_seq2seq(c, run_dir)

    run_dir.figure("masks", masks_figure(),
                   caption="The attention masks of the three kinds (dark: may attend). Left: the "
                   "encoder of a masked LM (BERT) over 5 tokens and 2 padding tokens. Middle: a "
                   "decoder-only LM (GPT). Right: the cross-attention of an encoder-decoder "
                   "(the Transformer of Module 3): 5 target positions over the padded source; "
                   "its decoder's self-attention is causal, as in the middle.")  # fmt: skip
    final = mlm_result.evals[-1]
    state_effects(run_dir, tokenizer.vocab_size, accuracy, final["val_loss"], gpt)
    run_dir.table(
        "The three kinds",
        ["", "encoder-only (this masked LM; BERT)", "decoder-only (GPT)",
         "encoder-decoder (Transformer, Module 3)"],
        [
            ["attention", f"bidirectional self-attention ({c.positional} positions)",
             f"causal self-attention ({gpt.model.config.positional} positions)",
             "bidirectional encoder; causal decoder + cross-attention to the encoder"],
            ["predicts", "the hidden tokens of a corrupted text, from both sides",
             "the next token from the ones before", "the next output token from the whole "
             "input and the outputs so far"],
            ["trained here on", f"Tiny Shakespeare, {c.mask_prob:.0%} of characters hidden",
             "Tiny Shakespeare, every next character", f"the {c.seq2seq_task} task"],
            ["measured here", f"masked accuracy {accuracy['mlm']:.1%} (held out)",
             f"next-char accuracy at the same positions {accuracy['gpt']:.1%}",
             f"exact match {s2s_accuracy:.1%} on {c.seq2seq_task} test strings"],
            ["used for", "understanding: classification, tagging, retrieval embeddings, "
             "fill-in (BERT, RoBERTa)", "generation: text, code, chat (GPT-2, GPT-4, Llama)",
             "transduction of one sequence into another: translation, summarisation, speech "
             "recognition (T5, BART, Whisper)"],
            ["cannot easily", "generate text left to right (no causal order)",
             "use the right-hand context of a blank", "be run without an input sequence"],
        ],
    )  # fmt: skip
    run_dir.figure(
        "mlm_training",
        line_plot(
            {
                "masked LM train (batch)": run_dir.series("mlm_loss"),
                "masked LM validation": run_dir.series("mlm_val_loss"),
                "GPT validation (next char)": run_dir.series("gpt_val_loss"),
            },
            "step",
            "cross-entropy (nats/char)",
        ),  # fmt: skip
        caption="The masked LM's loss on its hidden characters (15% of them, each seen as "
        "[MASK] at validation), and the GPT's next-character loss on every character (same "
        "shape and steps unless gpt_init_from is set).",
    )
    run_dir.table(
        "Encoder-only: fill in the blanks (held-out lines, _ = [MASK])",
        ["input", "masked LM's fill-in", "truth", "right"],
        [[shown(v) if isinstance(v, str) else v for v in row] for row in examples],
    )
    run_dir.text("Decoder-only: next-token samples from the GPT (temperature 0.8, top-k 20)",
                 f"{gpt.source}\n\n{gpt_sample}", pre=True)  # fmt: skip
    run_dir.table(
        f"Encoder-decoder: the {c.seq2seq_task} task (greedy decoding, test strings)",
        ["source", "target", "output", "exact"],
        s2s_rows,
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    run_dir.text(
        "What this shows",
        f"On {accuracy['positions']:,} held-out characters, the masked LM fills in "
        f"{accuracy['mlm']:.1%} correctly from both sides while the GPT, seeing only the true "
        f"text to the left, predicts {accuracy['gpt']:.1%} of the same characters. "
        + (
            "Seeing both sides, the masked LM fills blanks better, but it cannot write: it has "
            "no order to generate in. "
            if accuracy["mlm"] > accuracy["gpt"]
            else f"After this much training the masked LM, whose loss covers only "
            f"{c.mask_prob:.0%} of the characters, has not caught up with the GPT; and it "
            "cannot write text, having no order to generate in. "
        )
        + "The GPT "
        "writes text one character at a time. The encoder-decoder reads a whole input "
        f"(bidirectionally) and writes an output conditioned on it: {s2s_accuracy:.1%} of the "
        f"{c.seq2seq_task} test strings come out exactly right after {s2s_seconds:.0f} s of "
        f"training. (Load average {load:.1f}.)",
    )
    return {
        "mlm_val_loss": final["val_loss"],
        "mlm_val_accuracy": final["val_accuracy"],
        "fill_in_accuracy_mlm": accuracy["mlm"],
        "fill_in_accuracy_gpt": accuracy["gpt"],
        "fill_in_positions": accuracy["positions"],
        "gpt_val_loss": gpt.result.final_val_loss if gpt.result else None,
        "seq2seq_exact_match": s2s_accuracy,
        "mlm_train_seconds": round(mlm_result.train_seconds, 2),
        "load_average": round(load, 2),
    }


RECIPE = Recipe(
    name="masked-lm",
    module=4,
    description="a BERT-style masked LM beside a GPT and an encoder-decoder: what each is for",
    config=MaskedLMRecipeConfig,
    run=run,
    quick={
        "n_layer": 2,
        "n_embd": 64,
        "block_size": 32,
        "max_steps": 40,
        "eval_interval": 20,
        "eval_batches": 4,
        "seq2seq_steps": 40,
        "seq2seq_d_model": 32,
        "examples": 4,
        "sample_tokens": 60,
    },
    datasets=lambda c: ("tinyshakespeare",),
    preflight=preflight,
)
