"""What the Module 3 recipes claim a run shows, worded once (see ``RunDir.effect``)."""

from __future__ import annotations

from dlf.data.sequences import Seq2SeqTask
from dlf.runs import RunDir
from dlf.transformer.seq2seq_training import Evaluation, chance_accuracy


def rate(x: float) -> str:
    """A fraction as a percentage that stays readable when tiny.

    Example: ``0.8731`` -> ``"87.3%"``; ``7.5e-05`` -> ``"0.0075%"``.
    """
    return f"{100 * x:.1f}%" if x >= 0.001 else f"{100 * x:.2g}%"


def versus_guessing(test: Evaluation, task: Seq2SeqTask) -> str:
    """Exact match and token accuracy of ``test``, each beside what guessing would get.

    Example: ``"exact match 87.3% (guessing 0.0075%), token accuracy 97.9% (guessing 9.1%)"``.
    """
    token, exact = chance_accuracy(task, test.pairs)
    return (
        f"exact match {rate(test.accuracy)} (guessing {rate(exact)}), "
        f"token accuracy {rate(test.token_accuracy)} (guessing {rate(token)})"
    )


def learns_task(run_dir: RunDir, task: Seq2SeqTask, test: Evaluation, at_least: float) -> bool:
    """Record that the model solves unseen inputs of ``task``: exact match >= ``at_least`` on
    the test split, far above guessing (about (1 / V)^(length + 1)). Returns whether shown."""
    return run_dir.effect(
        f"{task.name}: the model writes at least {at_least:.0%} of the unseen test outputs "
        "exactly right, far above guessing",
        test.accuracy >= at_least,
        versus_guessing(test, task),
    )
