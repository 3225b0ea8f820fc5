"""The paper's training pieces (Vaswani et al. 2017, section 5): label smoothing, Adam with a
warm-up then inverse-square-root learning rate, and batches of similar lengths."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LabelSmoothingLoss(nn.Module):
    """Cross-entropy against a smoothed target distribution, averaged over non-padding tokens.

        q = (1 - eps) * onehot(y) + eps / V        (eps / V on every class, the true one too)
        loss = mean over tokens with y != ignore_index of  -sum_c q_c log softmax(z)_c

    This is PyTorch's ``F.cross_entropy(..., label_smoothing=eps)`` convention; the paper uses
    eps = 0.1 ("hurts perplexity ... but improves accuracy and BLEU").
    ``forward(logits, target)``: logits (..., V), target (...) integer ids -> scalar.
    """

    def __init__(self, smoothing: float = 0.1, ignore_index: int = -100) -> None:
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing, self.ignore_index = smoothing, ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        log_p = F.log_softmax(logits.reshape(-1, logits.size(-1)), dim=-1)  # (N, V)
        target = target.reshape(-1)
        keep = target != self.ignore_index
        log_p, target = log_p[keep], target[keep]
        nll = -log_p.gather(1, target[:, None]).squeeze(1)  # -log p(y)
        uniform = -log_p.mean(dim=-1)  # -(1/V) sum_c log p(c)
        per_token = (1.0 - self.smoothing) * nll + self.smoothing * uniform
        return per_token.sum() / keep.sum().clamp(min=1)  # 0 if every token is padding


def noam_schedule(step: int, d_model: int, warmup: int) -> float:
    """lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) (section 5.3).

    Rises linearly for ``warmup`` steps, peaks at (d_model * warmup)^-0.5, then decays as
    step^-0.5. Step 0 is read as step 1, because ``LambdaLR`` asks for step 0 before any update.
    As a multiplier: ``LambdaLR(Adam(params, lr=1.0, betas=(0.9, 0.98), eps=1e-9),
    partial(noam_schedule, d_model=512, warmup=4000))`` (see ``paper_optimizer``).

    Example: ``noam_schedule(4000, 512, 4000)`` -> 512^-0.5 * 4000^-0.5 = 0.000699.
    """
    step = max(step, 1)
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def paper_optimizer(
    params: Iterable[nn.Parameter], d_model: int, warmup: int = 4000, lr_scale: float = 1.0
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR]:
    """Adam(beta1 0.9, beta2 0.98, eps 1e-9) with the warm-up schedule ``noam_schedule``,
    scaled by ``lr_scale``. Call ``scheduler.step()`` after every ``optimizer.step()``."""
    optimizer = torch.optim.Adam(params, lr=lr_scale, betas=(0.9, 0.98), eps=1e-9)
    schedule = partial(noam_schedule, d_model=d_model, warmup=warmup)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def pad_batch(sequences: Sequence[Sequence[int] | Tensor], pad_id: int) -> tuple[Tensor, Tensor]:
    """Right-pad token sequences into one (B, max length) int64 tensor; also return lengths (B,).

    Example: ``pad_batch([[5, 6, 7], [8]], pad_id=0)`` -> ``([[5, 6, 7], [8, 0, 0]], [3, 1])``.
    """
    if len(sequences) == 0:
        raise ValueError("pad_batch needs at least one sequence")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    batch = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        batch[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return batch, lengths


def bucket_by_length(
    lengths: Sequence[int],
    batch_size: int | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> list[list[int]]:
    """Group indices of similar length into batches, so little of a batch is padding.

    Indices are sorted by length and cut into consecutive batches, of ``batch_size`` sequences,
    or, with ``max_tokens``, of as many sequences as fit in ``batch size x longest <= max_tokens``
    (the paper's "approximately 25000 source tokens" per batch). With ``seed`` the order of the
    batches is shuffled (the batches themselves stay fixed). Every index appears exactly once.

    Example: ``bucket_by_length([5, 1, 4, 2], batch_size=2)`` -> ``[[1, 3], [2, 0]]``.
    """
    if (batch_size is None) == (max_tokens is None):
        raise ValueError("give exactly one of batch_size or max_tokens")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    if batch_size is not None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    else:
        current: list[int] = []
        for i in order:  # ascending, so lengths[i] is the longest of current + [i]
            if current and (len(current) + 1) * lengths[i] > max_tokens:
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
    if seed is not None:
        random.Random(seed).shuffle(batches)
    return batches
