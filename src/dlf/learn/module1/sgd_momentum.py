"""Exercise ``sgd-momentum``: the update of SGD, with momentum and Nesterov momentum.

Reference: :meth:`dlf.scratch.optim.SGD.update` (the solution is its body). The learner's class
subclasses dlf's SGD and writes ``update`` only; the grader (:mod:`._optimizers`, shared with
``adam``) runs several steps of both optimizers on copies of the same parameters and compares
them.
"""

from __future__ import annotations

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader
from dlf.learn.module1._optimizers import going_up, grade_optimizer, problem
from dlf.learn.source import fill_bodies
from dlf.scratch import optim

STUB = '''"""Exercise sgd-momentum: the update rule of SGD, with momentum and Nesterov momentum.

The class below inherits everything but the rule from dlf.scratch.optim.SGD: the constructor
SGD(lr, momentum=0.0, nesterov=False, weight_decay=0.0), and step(params, grads), which walks
the parameters and calls update(p, g, state) for each. Write update.
Check with `dlf learn check sgd-momentum` after each save.
"""

import numpy as np

import dlf.scratch.optim


class SGD(dlf.scratch.optim.SGD):
    def update(self, p, g, state):
        """One update of the parameter p from its gradient g, IN PLACE (torch.optim.SGD's rule).

        With g' = g + weight_decay * p and the velocity v (zeros before the first step):

            plain (momentum 0):  p <- p - lr * g'
            momentum:            v <- momentum * v + g';   p <- p - lr * v
            Nesterov:            v <- momentum * v + g';   p <- p - lr * (g' + momentum * v)

        The hyper-parameters are self.lr, self.momentum, self.nesterov and self.weight_decay.
        state is this parameter's own dict, kept from one step to the next: keep v in it
        (state["v"] = ...). It also holds state["step"] (1 at the first update) and state["tmp"]
        (a scratch array like p). Change p in place (p -= ...): the layer holds that very array,
        so p = p - ... changes nothing. Leave g unchanged (it is the layer's gradient array).
        Shapes: p and g alike, any shape; returns None.
        Checked: 4 steps against dlf's SGD (float64, relative error <= 1e-7) on two parameters
        at once, with momentum 0 and 0.9, Nesterov, with and without weight decay; p changed in
        place; g left unchanged.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"SGD.update": optim.SGD.update})

STEPS = 4


def _sgd_mistakes(lr: float, mu: float, nesterov: bool, wd: float) -> list[tuple[str, optim.SGD]]:
    def sgd(lr: float = lr, mu: float = mu, nesterov: bool = nesterov, wd: float = wd):
        return optim.SGD(lr, momentum=mu, nesterov=nesterov and mu > 0, weight_decay=wd)

    found = []
    if nesterov:
        found.append(
            (
                "Nesterov computed as plain momentum: its step is lr * (g + momentum * v), "
                "not lr * v",
                sgd(nesterov=False),
            )
        )
    if mu:
        # without state, v is recomputed from zero each step: v = g, and Nesterov's g + mu * v
        # is (1 + mu) * g
        found.append(
            (
                "the velocity is not kept between steps (momentum has no effect after step 1): "
                'store it in state, e.g. v = state.setdefault("v", np.zeros_like(p))',
                sgd(lr=lr * (1 + mu) if nesterov else lr, mu=0.0),
            )
        )
        if not nesterov:
            found.append(
                (
                    "v <- momentum * v + (1 - momentum) * g is an average (torch calls it "
                    "dampening): torch's SGD adds g itself, v <- momentum * v + g",
                    sgd(lr=lr * (1 - mu)),
                )
            )
    if wd:
        found.append(("weight decay ignored: use g + weight_decay * p", sgd(wd=0.0)))
        found.append(("weight decay with the wrong sign: g + weight_decay * p", sgd(wd=-wd)))
    found.append(
        ("lr applied twice (e.g. v <- momentum * v + lr * g, then p -= lr * v)", sgd(lr=lr * lr))
    )
    found.append(("the step goes up the gradient: p -= lr * ..., not p += ...", going_up(sgd())))
    return found


# (lr, momentum, nesterov, weight_decay, seed)
CASES = (
    (0.1, 0.0, False, 0.0, 0),
    (0.1, 0.9, False, 0.0, 1),
    (0.05, 0.9, True, 0.0, 2),
    (0.1, 0.0, False, 0.1, 3),
    (0.1, 0.8, False, 0.1, 4),
    (0.05, 0.8, True, 0.1, 5),
)


def grade(g: Grader) -> None:
    cls = g.function("SGD")
    for lr, mu, nesterov, wd, seed in CASES:
        kinds = "Nesterov" if nesterov else ("momentum" if mu else "plain SGD")
        on = (
            f"{kinds}: lr {lr}, momentum {mu}, weight_decay {wd}; "
            f"W (3, 4) and b (4,), {STEPS} steps, seed {seed}"
        )
        kwargs = {"momentum": mu, "nesterov": nesterov, "weight_decay": wd}
        mistakes = _sgd_mistakes(lr, mu, nesterov, wd)
        grade_optimizer(g, on, cls, optim.SGD, (lr,), kwargs, problem(seed, STEPS), mistakes)


EXERCISE = Exercise(
    name="sgd-momentum",
    module=1,
    number=9,
    title="SGD with momentum and Nesterov momentum",
    concept="SGD, momentum, Nesterov, RMSProp, Adam, AdamW",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Start with plain SGD: p -= self.lr * g changes the array in place. Then add weight "
        "decay: g = g + self.weight_decay * p (a new array: the layer's gradient stays as it was).",
        "The velocity must survive from one step to the next, so it lives in state: "
        'v = state.setdefault("v", np.zeros_like(p)) returns the same array every step.',
        "Momentum: update v in place (v *= self.momentum; v += g), then p -= self.lr * v.",
        "Nesterov: same v, but the step is p -= self.lr * (g + self.momentum * v), with the v "
        "you have just updated.",
    ),
)
