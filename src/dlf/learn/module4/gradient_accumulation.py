"""Exercise ``gradient-accumulation``: the gradient of a big batch from k micro-batches.

Reference: :func:`dlf.gpt.train.accumulate_gradients` (the solution is its body). The grader
compares the learner's ``.grad`` with the gradient of ONE batch of all the samples (dlf's
function with a single micro-batch: plain autograd on the whole batch), in float64, for a small
MLP and a 1-layer :class:`dlf.gpt.model.GPT`. torch is imported when grading, never when the
exercises are listed: the solution's body is read from dlf/gpt/train.py's source, not imported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, as_array, one_torch_thread
from dlf.learn.source import Reference, fill_bodies

if TYPE_CHECKING:
    from torch import Tensor, nn

STUB = '''"""Exercise gradient-accumulation: the gradient of a big batch, from k small ones.

A batch too big for memory runs as k micro-batches, one forward and backward each: PyTorch ADDS
every backward into .grad, so the gradients pile up, and one optimizer step follows. This is
dlf's GPT training loop (grad_accum_steps), on one process or many (torchrun, DDP).
Check with `dlf learn check gradient-accumulation` after each save.
"""

import contextlib

import torch
from torch.nn.parallel import DistributedDataParallel


def accumulate_gradients(model, micro_batches, autocast=contextlib.nullcontext):
    """Forward and backward over k micro-batches, leaving in each parameter's .grad the
    gradient of the mean loss over all of them; return that mean loss.

        for m = 0..k-1:   _, L_m = model(x_m, y_m);   (L_m / k).backward()
        -> .grad = sum_m dL_m/dtheta / k = d/dtheta (1/k sum_m L_m),    returned: 1/k sum_m L_m

    model(x, y) returns (output, L): L the MEAN loss over the micro-batch (dlf's GPT does, and so
    does the grader's MLP). Equal micro-batches of B samples make this exactly the gradient of
    one batch of k*B samples. Run each forward inside `with autocast():` (bf16 in dlf's training
    on a GPU; a no-op here). Do not zero .grad and do not step: the training loop zeroes the
    gradients before, then clips and steps the optimizer after.
    Data parallel: when model is a DistributedDataParallel (one process per GPU), each backward
    also averages the gradients over the processes, a network round trip. Only the last
    micro-batch needs it: run the forward and backward of micro-batches 0..k-2 inside
    `with model.no_sync():`, and the last one outside.
    Shapes: micro_batches a list of k pairs (x, y) of tensors, each of the same batch size
    -> the mean loss, a 0-dim tensor that holds no autograd graph (detach it).
    Checked: .grad of every parameter against the gradient of one batch of all the samples
    (float64, relative error <= 1e-10) for a small MLP and a 1-layer GPT, k = 1, 2, 4; the
    loss returned; the parameters left unchanged; with a stand-in DDP model, no_sync around
    every micro-batch but the last.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB, {"accumulate_gradients": Reference("dlf.gpt.train", "accumulate_gradients")}
)

RTOL = 1e-10  # float64: k micro-batches vs one batch differ by rounding only (~1e-16)
MLP_BATCH, GPT_BATCH = 12, 8
SPLITS = (1, 2, 4)


def _mlp(seed: int) -> nn.Module:
    """The grader's small classifier: model(x, y) -> (logits, mean cross-entropy over x)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))

        def forward(self, x, y):
            logits = self.net(x)
            return logits, F.cross_entropy(logits, y)

    MLP.__qualname__ = "MLP"  # an error message names MLP.forward, not _mlp.<locals>.MLP
    torch.manual_seed(seed)
    return MLP().double()


def _tiny_gpt(seed: int) -> nn.Module:
    import torch

    from dlf.gpt.model import GPT, GPTConfig

    config = GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    torch.manual_seed(seed)
    return GPT(config).double()


def _data(kind: str, seed: int) -> tuple[Tensor, Tensor]:
    import torch

    g = torch.Generator().manual_seed(seed)
    if kind == "MLP":
        x = torch.randn(MLP_BATCH, 5, generator=g, dtype=torch.float64)
        return x, torch.randint(0, 3, (MLP_BATCH,), generator=g)
    x = torch.randint(0, 11, (GPT_BATCH, 8), generator=g)
    return x, torch.randint(0, 11, (GPT_BATCH, 8), generator=g)


def _split(x: Tensor, y: Tensor, k: int) -> list[tuple[Tensor, Tensor]]:
    b = len(x) // k
    return [(x[i * b : (i + 1) * b], y[i * b : (i + 1) * b]) for i in range(k)]


def _reference(model: nn.Module, batches) -> tuple[dict[str, np.ndarray], float]:
    """dlf's accumulated .grad (by parameter name) and mean loss, on a copy of ``model``."""
    from dlf.gpt.train import accumulate_gradients

    ref = copy.deepcopy(model)
    loss = accumulate_gradients(ref, batches)
    return {n: as_array(p.grad) for n, p in ref.named_parameters()}, float(loss)


def _grad_mistakes(model, x, y, k: int, want: dict) -> list[tuple[str, dict]]:
    """(message, .grad by name) of the usual wrong accumulations."""
    batches = _split(x, y, k)
    last, _ = _reference(model, batches[-1:])
    first, _ = _reference(model, batches[:1])
    b = len(batches[0][0])
    out = [
        (
            f"the loss of each micro-batch is not divided by k = {k}: the gradients of k "
            "micro-batches add up, (L_m / k).backward() makes their sum the gradient of the mean",
            {n: v * k for n, v in want.items()},
        ),
        (
            "only the last micro-batch's gradient is left: .grad was zeroed inside the loop "
            "(zero_grad before each backward); zero once, before accumulating (the training "
            "loop does it)",
            {n: v / k for n, v in last.items()},
        ),
        (
            "only the last micro-batch's gradient is left, undivided: .grad was zeroed inside "
            "the loop and L_m not divided by k",
            last,
        ),
        (
            "only the first micro-batch ran: loop over all of micro_batches",
            {n: v / k for n, v in first.items()},
        ),
        (
            f"divided by k twice (k = {k}): divide each loss by k once, before backward",
            {n: v / k for n, v in want.items()},
        ),
    ]
    if b != k:
        out.append(
            (
                f"divided by the micro-batch size ({b}) instead of k ({k}): L_m is already a "
                "mean over its samples; dividing by k averages the k micro-batches",
                {n: v * k / b for n, v in want.items()},
            )
        )
    return out


def _check_case(g: Grader, fn: Callable, kind: str, k: int, seed: int) -> None:
    import torch

    model = _mlp(seed) if kind == "MLP" else _tiny_gpt(seed)
    x, y = _data(kind, seed + 100)
    want, _ = _reference(model, [(x, y)])
    _, dlf_loss = _reference(model, _split(x, y, k))
    mine = copy.deepcopy(model)
    before = {n: p.detach().clone() for n, p in mine.named_parameters()}
    batches = _split(x, y, k)
    b = len(batches[0][0])
    with g.case(f"{kind}, a batch of {len(x)} as k = {k} micro-batches of {b}, seed {seed}"):
        loss = g.call(fn, mine, batches)
        changed = [n for n, p in mine.named_parameters() if not torch.equal(p.detach(), before[n])]
        g.check(
            "the parameters are left unchanged",
            not changed,
            f"{len(changed)} changed, e.g. {changed[:1]}",
            "an optimizer step or an in-place update: accumulate_gradients only fills .grad; the "
            "training loop steps after it",
        )
        params = dict(mine.named_parameters())
        missing = [n for n, p in params.items() if p.grad is None]
        if missing:
            g.check(
                ".grad of every parameter",
                False,
                f"{len(missing)} of {len(params)} parameters have no .grad, e.g. {missing[0]}",
                "call backward on each micro-batch's loss",
            )
        else:
            got = {n: as_array(p.grad) for n, p in params.items()}
            errors = {n: _relative(got[n], want[n]) for n in want}
            worst = max(errors, key=errors.get)
            if errors[worst] <= RTOL:
                g.check(".grad of every parameter", True)
            else:
                mistakes = [
                    Mistake(message, value[worst])
                    for message, value in _grad_mistakes(model, x, y, k, want)
                ]
                g.close(
                    f".grad of {worst} (the worst of {len(want)} parameters)",
                    got[worst],
                    want[worst],
                    rtol=RTOL,
                    mistakes=mistakes,
                )
        _check_loss(g, loss, dlf_loss, model, batches)


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    from dlf.scratch.gradcheck import relative_error

    return relative_error(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))


def _check_loss(g: Grader, loss, dlf_loss: float, model, batches) -> None:
    """The returned loss: a 0-dim tensor with no graph, the mean of the k losses (dlf's)."""
    import torch

    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = f" of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else ""
        g.check(
            "returns the mean loss as a 0-dim tensor",
            False,
            f"got {type(loss).__name__}{shape}",
            "a missing return statement"
            if loss is None
            else "return the mean of the k losses as a tensor (the training loop calls "
            "loss.to(device)), e.g. total / k with total = sum of loss.detach()",
        )
        return
    g.check(
        "the loss returned holds no autograd graph",
        not loss.requires_grad,
        "it requires grad",
        "detach the losses (loss.detach()) before adding them up: a graph kept alive holds "
        "every micro-batch's activations in memory",
    )
    k = len(batches)
    losses = [_reference(model, [mb])[1] for mb in batches]
    g.close(
        "the loss returned",
        loss,
        dlf_loss,
        rtol=RTOL,
        mistakes=[
            Mistake("the SUM of the k losses: return their mean", dlf_loss * k),
            Mistake("the loss of the last micro-batch only: return the mean of all k", losses[-1]),
            Mistake(
                "the last micro-batch's L_m / k: add up the k losses, then divide by k",
                losses[-1] / k,
            ),
        ],
    )


def _stand_in_ddp(module: nn.Module) -> nn.Module:
    """A DistributedDataParallel with no processes behind it: calls go to ``module``, and each
    forward records whether it ran outside no_sync (where a real DDP would average the
    gradients over the processes during the backward that follows)."""
    import contextlib

    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    class StandIn(DistributedDataParallel):
        def __init__(self, inner: nn.Module):
            nn.Module.__init__(self)  # DDP's own needs a process group
            self.module = inner
            self.synced: list[bool] = []
            self.inside_no_sync = False

        def forward(self, *args, **kwargs):
            self.synced.append(not self.inside_no_sync)
            return self.module(*args, **kwargs)

        @contextlib.contextmanager
        def no_sync(self):
            self.inside_no_sync = True
            try:
                yield
            finally:
                self.inside_no_sync = False

    StandIn.__qualname__ = "DistributedDataParallel"
    return StandIn(module)


def _check_ddp(g: Grader, fn: Callable, k: int = 4, seed: int = 2) -> None:
    model = _mlp(seed)
    x, y = _data("MLP", seed + 100)
    want, _ = _reference(model, _split(x, y, k))
    wrapped = _stand_in_ddp(copy.deepcopy(model))
    with g.case(f"MLP in a stand-in DistributedDataParallel, k = {k} micro-batches, seed {seed}"):
        g.call(fn, wrapped, _split(x, y, k))
        synced = list(wrapped.synced)
        expected = [False] * (k - 1) + [True]
        diagnosis = ""
        if synced == [True] * k:
            diagnosis = (
                "every micro-batch averages the gradients over the processes: run micro-batches "
                "0..k-2 inside `with model.no_sync():` (isinstance(model, "
                "DistributedDataParallel)), only the last one outside"
            )
        elif synced == [False] * k:
            diagnosis = (
                "the last micro-batch ran inside no_sync too: its backward must average the "
                "gradients over the processes, so run it outside"
            )
        elif len(synced) == k and synced[0] and not synced[-1]:
            diagnosis = "the sync belongs to the LAST micro-batch: no_sync around the first k - 1"
        shown = ", ".join("sync" if s else "no_sync" for s in synced)
        g.check(
            "no_sync around every micro-batch but the last",
            synced == expected,
            f"the {len(synced)} forward passes ran: {shown or 'none'}",
            diagnosis,
        )
        grads = {n: p.grad for n, p in wrapped.module.named_parameters()}
        missing = [n for n, v in grads.items() if v is None]
        g.check(
            ".grad of every parameter, under DDP",
            not missing and max(_relative(as_array(grads[n]), want[n]) for n in want) <= RTOL,
            f"{len(missing)} parameters have no .grad"
            if missing
            else "differs from the accumulated gradient (see the checks without DDP)",
        )


def grade(g: Grader) -> None:
    fn = g.function("accumulate_gradients")
    with one_torch_thread():
        for kind, seed in (("MLP", 0), ("GPT", 1)):
            for k in SPLITS:
                _check_case(g, fn, kind, k, seed)
        _check_ddp(g, fn)


EXERCISE = Exercise(
    name="gradient-accumulation",
    module=4,
    number=9,
    title="Gradient accumulation: one big batch from k micro-batches",
    concept="Gradient accumulation: the batch's gradient in less memory",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "loss.backward() ADDS into .grad: k backward passes in a row leave the sum of k "
        "gradients, with no zero_grad in between.",
        "Each L_m is a mean over its micro-batch; the big batch's loss is the mean of the k "
        "means, so each micro-batch contributes dL_m / k: call (loss / k).backward().",
        "k = len(micro_batches); for x, y in micro_batches: with autocast(): _, loss = "
        "model(x, y); then (loss / k).backward().",
        "Keep a running total of loss.detach() (no graph) and return total / k, a 0-dim tensor.",
    ),
)
