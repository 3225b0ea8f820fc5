"""Which of the path's checkpoints the learner's own code proves: the exercises behind each.

A checkpoint of :mod:`dlf.path` proves a claim with the project's code. An exercise whose grader
checks the same claim on the learner's code (a gradient check, rows that sum to 1, a causal
mask that hides the future, ...) proves it with theirs. ``COVERS`` names, per checkpoint
(module, name), those exercises; the checkpoint holds for the learner's code when every one of
them passes. Checkpoints no exercise covers (early stopping, transfer, resume, ...) are absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlf.learn.check import check
from dlf.learn.grading import FAILING, NOT_STARTED, PASSED
from dlf.learn.workspace import Workspace

COVERS: dict[tuple[int, str], tuple[str, ...]] = {
    (1, "backprop"): ("linear-layer", "activations", "two-layer-net"),
    (1, "gradient checking"): ("gradient-check",),
    (1, "optimizers"): ("sgd-momentum", "adam"),
    (1, "L2"): ("l2-penalty",),
    (1, "dropout"): ("dropout",),
    (2, "convolution"): ("conv-naive",),
    (2, "receptive field"): ("receptive-field",),
    (2, "batch norm"): ("batchnorm",),
    (3, "attention weights"): ("attention",),
    (3, "multi-head parity"): ("multi-head-attention",),
    (3, "causal mask"): ("decoder-block",),
    (4, "bpe-round-trip"): ("bpe-tokenizer",),
    (4, "causal-masking"): ("causal-mask", "causal-self-attention", "gpt"),
    (4, "gradient-accumulation"): ("gradient-accumulation",),
    (4, "top-k-top-p"): ("sampling-filters",),
    (4, "beam-search"): ("beam-search",),
}


@dataclass(frozen=True)
class Proof:
    """A checkpoint and the verdict on the learner's code: passed, failing or not started."""

    module: int
    checkpoint: str
    exercises: tuple[str, ...]
    state: str


def learner_proofs(workspace: Workspace, modules: list[int] | None = None) -> list[Proof]:
    """Grade, now, every exercise behind the chosen modules' checkpoints; one Proof each."""
    chosen = {key: names for key, names in COVERS.items() if modules is None or key[0] in modules}
    names = sorted({n for names in chosen.values() for n in names})
    states = {g.exercise: g.state for g in check(workspace, names)} if names else {}
    proofs = []
    for (module, checkpoint), covering in chosen.items():
        got = [states[n] for n in covering]
        if all(s == PASSED for s in got):
            state = PASSED
        elif all(s == NOT_STARTED for s in got):
            state = NOT_STARTED
        else:
            state = FAILING
        proofs.append(Proof(module, checkpoint, covering, state))
    return proofs
