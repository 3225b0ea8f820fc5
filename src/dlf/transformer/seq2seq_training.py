"""One training and evaluation loop for the sequence tasks of :mod:`dlf.data.sequences`, shared
by every Module 3 recipe and by both model families (``Transformer`` and the RNN ``Seq2Seq``).

    decoder input  = [BOS] + target          (teacher forcing: the true previous token)
    labels         = target + [EOS]          (PAD where the row is shorter; ignored by the loss)
    loss           = LabelSmoothingLoss(logits, labels)
    exact match    = mean over examples of [greedy decoding of the source == target]
    token accuracy = mean over label tokens of [argmax of the teacher-forced logits == label]

A loss that is NaN or infinite stops training with ``dlf.runs.Diverged``.

Batches hold examples of similar length (``bucket_by_length``), shuffled every epoch. Greedy
decoding goes through a ``step_fn(ids, cache)`` as in :mod:`dlf.sampling`, batched over
examples; the RNN's step_fn carries its recurrent state as the cache, the Transformer's
recomputes the decoder over the ids so far.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlf.data.sequences import BOS, EOS, PAD, Seq2SeqTask
from dlf.runs import check_finite
from dlf.sampling import greedy
from dlf.sampling.generate import StepFn
from dlf.transformer.attention import causal_mask, padding_mask
from dlf.transformer.model import Transformer
from dlf.transformer.seq2seq import Seq2Seq
from dlf.transformer.training import (
    LabelSmoothingLoss,
    bucket_by_length,
    pad_batch,
    paper_optimizer,
)

OPTIMIZERS = ("noam", "adam")


@dataclass
class TrainSettings:
    """How to train on a task.

    ``optimizer``: "noam" = Adam with the paper's warm-up schedule (``paper_optimizer``), where
    ``lr`` scales the schedule (peak lr = lr * (d_model * warmup)^-0.5); "adam" = Adam at the
    constant rate ``lr`` (for the RNNs). ``grad_clip``: max global gradient norm (0 = none).
    ``eval_every``: exact match on ``eval_examples`` test examples every so many steps (0 = only
    at the end).
    """

    steps: int = 2000
    batch_size: int = 64
    optimizer: str = "noam"
    lr: float = 0.5
    warmup: int = 100
    label_smoothing: float = 0.0
    grad_clip: float = 1.0
    eval_every: int = 0
    eval_examples: int = 200
    log_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not known: choose {OPTIMIZERS}")


@dataclass
class Batch:
    """Padded ids: ``src`` (B, S), ``tgt_in`` = [BOS] + target (B, T), ``labels`` = target +
    [EOS] (B, T), all int64 padded with PAD."""

    src: Tensor
    tgt_in: Tensor
    labels: Tensor


def make_batch(task: Seq2SeqTask, pairs: Sequence[tuple[str, str]]) -> Batch:
    """Encode and pad (source, target) strings.

    Example (digits vocabulary, ``"0"`` is id 3): ``[("10", "01")]`` -> src ``[[4, 3]]``,
    tgt_in ``[[BOS, 3, 4]]``, labels ``[[3, 4, EOS]]``.
    """
    src, _ = pad_batch([task.encode(s) for s, _ in pairs], PAD)
    targets = [task.encode(t) for _, t in pairs]
    tgt_in, _ = pad_batch([[BOS, *t] for t in targets], PAD)
    labels, _ = pad_batch([[*t, EOS] for t in targets], PAD)
    return Batch(src, tgt_in, labels)


def teacher_forced_logits(model: nn.Module, src: Tensor, tgt_in: Tensor) -> Tensor:
    """Next-token logits (B, T, V) for every decoder position, given the true previous tokens.

    For a Transformer: src_mask = padding_mask(src), tgt_mask = causal & padding_mask(tgt_in).
    An RNN is causal by construction and masks its padding itself.
    """
    if isinstance(model, Transformer):
        tgt_mask = causal_mask(tgt_in.size(1), device=tgt_in.device) & padding_mask(tgt_in, PAD)
        return model(src, tgt_in, padding_mask(src, PAD), tgt_mask)
    return model(src, tgt_in)


def decoder_step_fn(model: nn.Module, src: Tensor) -> StepFn:
    """A ``step_fn(ids, cache) -> (logits (B, V), cache)`` (the :mod:`dlf.sampling` contract)
    that decodes the sources ``src`` (B, S); ``ids`` (B, t) start with BOS.

    Transformer: the encoder runs once; each call re-runs the decoder over all of ``ids`` (no
    key-value cache) and returns the last position's logits. RNN: the cache is the recurrent
    state, so each call feeds only ``ids[:, -1]``. A source batch of 1 is expanded to the rows of
    ``ids``, so the same step_fn serves ``beam_search``.
    """
    if isinstance(model, Transformer):
        src_mask = padding_mask(src, PAD)
        memory = model.encode(src, src_mask)

        def transformer_step(ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
            rows = ids.size(0)
            mem = memory.expand(rows, -1, -1) if memory.size(0) == 1 else memory
            mask = src_mask.expand(rows, -1, -1, -1) if src_mask.size(0) == 1 else src_mask
            return model.decode(ids, mem, mask)[:, -1], None

        return transformer_step
    if isinstance(model, Seq2Seq):
        memory = model.encode(src)

        def rnn_step(ids: Tensor, cache: Any) -> tuple[Tensor, Any]:
            mem = memory if memory.outputs.size(0) == ids.size(0) else memory.expand(ids.size(0))
            state = mem.state if cache is None else cache
            logits, state, _ = model.decode_step(ids[:, -1], state, mem)
            return logits, state

        return rnn_step
    raise TypeError(f"no step_fn for {type(model).__name__}: expected a Transformer or Seq2Seq")


@torch.no_grad()
def greedy_decode(model: nn.Module, src: Tensor, max_new_tokens: int) -> Tensor:
    """Greedy decoding of a batch: y_i = argmax p(y | y_<i, x) (``dlf.sampling.greedy``), from
    BOS, until every row has produced EOS or ``max_new_tokens`` tokens.

    Token for token what ``dlf.sampling.generate(step_fn, [BOS], ..., stop_ids=[EOS])`` gives
    for each source alone, batched. src (B, S) -> generated ids (B, <= max_new_tokens), EOS
    included; what follows a row's EOS is meaningless (``task.decode`` stops at EOS).
    """
    step_fn = decoder_step_fn(model, src)
    ids = torch.full((src.size(0), 1), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    cache = None
    for _ in range(max_new_tokens):
        logits, cache = step_fn(ids, cache)
        token = greedy(logits)
        ids = torch.cat([ids, token[:, None]], dim=1)
        done |= token == EOS
        if bool(done.all()):
            break
    return ids[:, 1:]


def decoding_budget(source_length: int) -> int:
    """How many tokens greedy decoding may write for a source of ``source_length`` tokens:
    2 S + 12, more than any task's target needs.

    The decoder reads BOS and every token written but the last: positions 0 .. 2 S + 11, so a
    learned position table needs ``decoding_budget(S)`` rows. Example: ``5`` -> ``22``.
    """
    return 2 * source_length + 12


def predict(
    model: nn.Module, task: Seq2SeqTask, sources: Sequence[str], batch_size: int = 250
) -> list[str]:
    """Greedy outputs for source strings, in batches of similar length; a batch is decoded for
    up to ``decoding_budget`` of its longest source."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))  # little padding
    by_index: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        src, _ = pad_batch([task.encode(sources[i]) for i in rows], PAD)
        generated = greedy_decode(model, src, decoding_budget(src.size(1)))
        for i, ids in zip(rows, generated.tolist(), strict=True):
            by_index[i] = task.decode(ids)
    model.train(was_training)
    return [by_index[i] for i in range(len(sources))]


@dataclass
class Evaluation:
    """Exact-match accuracy on a list of (source, target) pairs, the outputs themselves, and the
    teacher-forced token accuracy (see ``token_accuracy``)."""

    accuracy: float
    predictions: list[str]
    pairs: list[tuple[str, str]]
    token_accuracy: float = float("nan")

    @property
    def correct(self) -> list[bool]:
        return [p == t for p, (_, t) in zip(self.predictions, self.pairs, strict=True)]

    def accuracy_by_length(self) -> dict[int, float]:
        """Exact match per source length. Example: ``{3: 1.0, 4: 0.5}``."""
        totals: dict[int, list[int]] = {}
        for ok, (src, _) in zip(self.correct, self.pairs, strict=True):
            totals.setdefault(len(src), []).append(int(ok))
        return {n: sum(v) / len(v) for n, v in sorted(totals.items())}


@torch.no_grad()
def token_accuracy(
    model: nn.Module, task: Seq2SeqTask, pairs: Sequence[tuple[str, str]], batch_size: int = 250
) -> float:
    """Fraction of label tokens (target + EOS) that the model ranks first given the true prefix:
    mean over (example, position) of [argmax_v logits[b, i, v] == labels[b, i]], PAD excluded.

    It rises long before exact match does: one wrong token in a string costs exact match the
    whole string, token accuracy 1 / (length + 1). Example: target "12" predicted "1", "3",
    EOS -> 2 of 3 tokens right.
    """
    was_training = model.training
    model.eval()
    right = total = 0
    for start in range(0, len(pairs), batch_size):
        batch = make_batch(task, pairs[start : start + batch_size])
        predicted = teacher_forced_logits(model, batch.src, batch.tgt_in).argmax(-1)
        counted = batch.labels != PAD
        right += int((predicted == batch.labels)[counted].sum())
        total += int(counted.sum())
    model.train(was_training)
    return right / max(total, 1)


def chance_accuracy(task: Seq2SeqTask, pairs: Sequence[tuple[str, str]]) -> tuple[float, float]:
    """(token accuracy, exact match) of guessing each output token uniformly among the V tokens
    that targets use (their characters and EOS): 1 / V, and the mean of (1 / V)^(len(t) + 1).

    Example: digit targets, V = 11: ``[("12", "21")]`` -> ``(1 / 11, 1 / 11**3)``.
    """
    alphabet = {ch for _, target in pairs for ch in target} | {"<eos>"}
    token = 1 / len(alphabet)
    exact = sum(token ** (len(t) + 1) for _, t in pairs) / max(len(pairs), 1)
    return token, exact


def evaluate(
    model: nn.Module, task: Seq2SeqTask, pairs: Sequence[tuple[str, str]], batch_size: int = 250
) -> Evaluation:
    """Exact match = fraction of sources whose greedy output equals the target string; token
    accuracy as in ``token_accuracy``."""
    pairs = list(pairs)
    predictions = predict(model, task, [s for s, _ in pairs], batch_size)
    hits = sum(p == t for p, (_, t) in zip(predictions, pairs, strict=True))
    tokens = token_accuracy(model, task, pairs, batch_size)
    return Evaluation(hits / max(len(pairs), 1), predictions, pairs, tokens)


def training_batches(
    task: Seq2SeqTask, batch_size: int, seed: int
) -> Iterator[list[tuple[str, str]]]:
    """Endless batches of training pairs: bucketed by length, a new shuffle every epoch."""
    lengths = [len(s) + len(t) for s, t in task.train]
    epoch = 0
    while True:
        for rows in bucket_by_length(lengths, batch_size=batch_size, seed=seed + epoch):
            yield [task.train[i] for i in rows]
        epoch += 1


@dataclass
class TrainResult:
    """Final train loss (mean of the last ``log_every`` steps), wall seconds, and the history
    of logged records ``{"step", "train_loss", ["test_exact_match"]}``."""

    final_loss: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def train(
    model: nn.Module,
    task: Seq2SeqTask,
    settings: TrainSettings,
    log: Callable[..., None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``task.train`` with teacher forcing for ``settings.steps`` steps.

    ``log(step, **metrics)`` (e.g. ``RunDir.log``) gets the mean train loss every
    ``log_every`` steps and, every ``eval_every`` steps, the exact match on the first
    ``eval_examples`` test pairs. Leaves the model in eval mode. A NaN or infinite loss raises
    ``dlf.runs.Diverged`` before the step that would have used its gradients.
    """
    torch.manual_seed(settings.seed)
    if settings.optimizer == "noam":
        width = model.config.d_model if isinstance(model, Transformer) else model.config.d_hidden
        optimizer, scheduler = paper_optimizer(
            model.parameters(), width, settings.warmup, settings.lr
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        scheduler = None
    loss_fn = LabelSmoothingLoss(settings.label_smoothing, ignore_index=PAD)
    batches = training_batches(task, settings.batch_size, settings.seed)
    history: list[dict[str, float]] = []
    recent: list[float] = []
    start = time.perf_counter()
    model.train()
    for step in range(1, settings.steps + 1):
        batch = make_batch(task, next(batches))
        logits = teacher_forced_logits(model, batch.src, batch.tgt_in)
        loss = loss_fn(logits, batch.labels)
        value = check_finite(loss.item(), step, advice=f"try a lower lr than {settings.lr:g}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        recent.append(value)
        record: dict[str, float] = {}
        if step % settings.log_every == 0 or step == settings.steps:
            record["train_loss"] = sum(recent) / len(recent)
            recent = []
        if settings.eval_every and (step % settings.eval_every == 0 or step == settings.steps):
            sample = task.test[: settings.eval_examples]
            record["test_exact_match"] = evaluate(model, task, sample).accuracy
            model.train()
        if record:
            history.append({"step": step, **record})
            if log is not None:
                log(step, **record)
    model.eval()
    losses = [h["train_loss"] for h in history if "train_loss" in h]
    return TrainResult(losses[-1] if losses else float("nan"), time.perf_counter() - start, history)


def input_gradient_norms(model: nn.Module, batch: Batch, output_position: int = 0) -> Tensor:
    """||dL / dx_t|| for every source position t, averaged over the batch: (S,).

    L = cross-entropy of the prediction at decoder position ``output_position`` (0 = the first
    output token); x_t = the vector the encoder receives at position t (token embedding, plus
    the positional encoding for a Transformer). In an RNN without attention, x_t reaches the
    first output through S - t recurrent steps (t = 0..S-1), so plot against that distance.
    Sources must all have the same length (no padding). Dropout is off (eval mode).
    """
    if bool((batch.src == PAD).any()):
        raise ValueError("input_gradient_norms needs unpadded sources of one length")
    was_training = model.training
    model.eval()
    with torch.enable_grad():
        if isinstance(model, Transformer):
            x = model.embed(batch.src).detach().requires_grad_(True)
            memory = model.encoder(x)
            logits = model.decode(batch.tgt_in, memory)
        elif isinstance(model, Seq2Seq):
            x = model.embedding(batch.src).detach().requires_grad_(True)
            memory = model.encode_embeddings(x, torch.ones_like(batch.src, dtype=torch.bool))
            logits = model.decode(batch.tgt_in, memory)
        else:
            raise TypeError(f"expected a Transformer or Seq2Seq, got {type(model).__name__}")
        loss = F.cross_entropy(logits[:, output_position], batch.labels[:, output_position])
        (grad,) = torch.autograd.grad(loss, x)
    model.train(was_training)
    return grad.norm(dim=-1).mean(dim=0)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` intra-op threads inside the block (0 = leave as is), then restore.

    The models of these recipes are tiny: their matrix products are too small to share out, and
    worker threads that wait by spinning take cores from other work.
    """
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
