"""What ``sgd-momentum`` and ``adam`` share: several steps of the learner's optimizer and dlf's.

The learner's class subclasses dlf's optimizer (:mod:`dlf.scratch.optim`) and writes ``update``;
:func:`grade_steps` runs both on copies of the same parameters and compares them after each step.
A known mistake is an optimizer that makes it (dlf's, or a variant): its trajectory is the
wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlf.learn.grader import Grader, Mistake
from dlf.scratch import optim

Arrays = dict[str, np.ndarray]


def problem(seed: int, steps: int, scale: float = 1.0) -> tuple[Arrays, list[Arrays]]:
    """Float64 parameters {"W" (3, 4), "b" (4,)} and ``steps`` gradients of size ~``scale``."""
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    grads = [
        {k: scale * rng.standard_normal(p.shape) for k, p in params.items()} for _ in range(steps)
    ]
    return params, grads


def run_steps(opt: optim.Optimizer, params: Arrays, grads: list[Arrays]) -> list[Arrays]:
    """The parameters after each step of ``opt`` (dlf's, or a mistaken variant), from copies."""
    params = {k: p.copy() for k, p in params.items()}
    after = []
    for step_grads in grads:
        opt.step(params, {k: gr.copy() for k, gr in step_grads.items()})
        after.append({k: p.copy() for k, p in params.items()})
    return after


def going_up(opt: optim.Optimizer) -> optim.Optimizer:
    """``opt`` going up the gradient, as ``p += lr * ...`` does (its constructor refuses lr < 0)."""
    opt.lr = -opt.lr
    return opt


def grade_steps(
    g: Grader,
    learner: Callable[[], optim.Optimizer],
    reference: optim.Optimizer,
    params: Arrays,
    grads: list[Arrays],
    mistakes: list[tuple[str, optim.Optimizer]],
) -> None:
    """Run the learner's optimizer and ``reference`` step by step; compare after each step.

    ``mistakes`` are (message, optimizer with that mistake): their trajectories are the known
    wrong answers. The first failing step ends the case (every later step differs as well).
    """
    want = run_steps(reference, params, grads)
    with np.errstate(all="ignore"):  # a mistaken rule may divide by zero
        wrong = [(message, run_steps(opt, params, grads)) for message, opt in mistakes]
    opt = g.call_inplace(learner)
    mine = {k: p.copy() for k, p in params.items()}
    for t, step_grads in enumerate(grads, start=1):
        before = {k: p.copy() for k, p in mine.items()}
        given = {k: gr.copy() for k, gr in step_grads.items()}
        g.call_inplace(opt.step, mine, given)
        touched = [k for k in given if not np.array_equal(given[k], step_grads[k])]
        if touched:
            g.check(
                f"step {t} leaves the gradients unchanged",
                False,
                f"grads[{touched[0]!r}] was modified",
                "g += ... writes into the layer's gradient array: make a new one, "
                "g = g + weight_decay * p",
            )
            return
        same = [
            k
            for k in mine
            if np.array_equal(mine[k], before[k]) and not np.array_equal(want[t - 1][k], before[k])
        ]
        if same:
            g.check(
                f"step {t} changes p in place",
                False,
                f"params[{same[0]!r}] is unchanged after the step",
                "p = p - ... makes a new array and leaves the layer's array as it was: "
                "write p -= ... (or p[...] = ...)",
            )
            return
        results = [
            g.close(
                f"params[{k!r}] after step {t}",
                mine[k],
                want[t - 1][k],
                mistakes=[Mistake(message, after[t - 1][k]) for message, after in wrong],
            )
            for k in mine
        ]
        if not all(results):
            return
    g.check("every step changes p in place and leaves g unchanged", True)


def grade_optimizer(
    g: Grader,
    on: str,
    learner: type,
    reference: type,
    args: tuple,
    kwargs: dict,
    problem: tuple[Arrays, list[Arrays]],
    mistakes: list[tuple[str, optim.Optimizer]],
) -> None:
    """One case, labelled ``on``: the learner's ``learner(*args, **kwargs)`` against dlf's
    ``reference(*args, **kwargs)`` on ``problem`` = (params, the gradients of each step)."""
    params, grads = problem
    with g.case(on):
        grade_steps(
            g,
            lambda: learner(*args, **kwargs),
            reference(*args, **kwargs),
            params,
            grads,
            mistakes,
        )
