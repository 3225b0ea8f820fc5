"""Exercise ``adam``: the Adam update, with bias correction and L2 weight decay.

Reference: :class:`dlf.scratch.optim.Adam` (the solution is the body of its ``_adam``, the rule
Adam and AdamW share, with Adam's coupled L2 decay). Graded like ``sgd-momentum``
(:mod:`._optimizers`): several steps of the learner's optimizer and dlf's on copies of the same
parameters.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader
from dlf.learn.module1._optimizers import going_up, grade_optimizer, problem
from dlf.learn.source import Reference, fill_bodies
from dlf.scratch import optim

STUB = '''"""Exercise adam: the Adam update, with bias correction and L2 weight decay.

The class below inherits everything but the rule from dlf.scratch.optim.Adam: the constructor
Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0), and step(params, grads), which
counts the steps and calls update(p, g, state) for each parameter. Write update.
Check with `dlf learn check adam` after each save.
"""

import math

import numpy as np

import dlf.scratch.optim


class Adam(dlf.scratch.optim.Adam):
    def update(self, p, g, state):
        """One Adam update of p from its gradient g, IN PLACE (torch.optim.Adam, amsgrad=False).

        With g' = g + weight_decay * p, the step count t and the moments m and v (zeros before
        the first step):

            m <- beta1 * m + (1 - beta1) * g'
            v <- beta2 * v + (1 - beta2) * g'**2
            m_hat = m / (1 - beta1**t),   v_hat = v / (1 - beta2**t)     (bias correction)
            p <- p - lr * m_hat / (sqrt(v_hat) + eps)                    (eps outside the sqrt)

        The hyper-parameters are self.lr, self.betas (a pair beta1, beta2), self.eps and
        self.weight_decay. state is this parameter's own dict, kept between steps: keep m and v
        in it. t is state["step"]: the base class counts it (1 at the first update); read it,
        do not count it again. Change p in place (p -= ...); leave g unchanged.
        Shapes: p and g alike, any shape; returns None.
        Checked: 5 steps against dlf's Adam (float64, relative error <= 1e-7) on two parameters
        at once, with default and other betas, weight decay, and gradients small enough (1e-4)
        for eps to matter; p changed in place; g left unchanged.
        """
        raise NotImplementedError
'''


# Adam's rule is Adam._adam(p, g, state, l2), called with l2 = self.weight_decay (AdamW: 0).
_ADAM = Reference("dlf.scratch.optim", "Adam._adam").body()
assert _ADAM.count("(p, g, l2,") == 1
SOLUTION = fill_bodies(
    STUB, {"Adam.update": _ADAM.replace("(p, g, l2,", "(p, g, self.weight_decay,")}
)

STEPS = 5


class _Variant(optim.Adam):
    """dlf's Adam made wrong on purpose: step count ``t_of(t)``, or moments ``forget`` dropped."""

    def __init__(self, *args, t_of=lambda t: t, forget: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.t_of, self.forget = t_of, forget

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        for name in self.forget:
            state.pop(name, None)
        t = state["step"]
        state["step"] = self.t_of(t)
        super().update(p, g, state)
        state["step"] = t


class _Unlike(optim.Optimizer):
    """Adam's rule with a mistake dlf's Adam cannot be bent into, for its diagnosis only:
    eps inside the square root, one of the bias corrections left out, or t starting at 0."""

    def __init__(
        self, lr, betas, eps, weight_decay, *, eps_inside=False, fix_m=True, fix_v=True, t0=False
    ):
        super().__init__(lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.eps_inside, self.fix_m, self.fix_v, self.t0 = eps_inside, fix_m, fix_v, t0

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        b1, b2 = self.betas
        t = state["step"] - self.t0
        g = g + self.weight_decay * p
        m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat = m / (1 - b1**t) if self.fix_m else m
        v_hat = v / (1 - b2**t) if self.fix_v else v
        if self.eps_inside:
            p -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
        else:
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def _adam_mistakes(lr: float, betas: tuple[float, float], eps: float, wd: float):
    def adam(**changes):
        kw = {"betas": betas, "eps": eps, "weight_decay": wd, **changes}
        return _Variant(lr, **kw)

    def unlike(**flags):
        return _Unlike(lr, betas, eps, wd, **flags)

    found = [
        (
            "no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t",
            adam(t_of=lambda t: 10**9),  # beta**t underflows to 0
        ),
        (
            "v is not bias-corrected: v_hat = v / (1 - beta2**t), as m_hat = m / (1 - beta1**t)",
            unlike(fix_v=False),
        ),
        (
            "m is not bias-corrected: m_hat = m / (1 - beta1**t), as v_hat = v / (1 - beta2**t)",
            unlike(fix_m=False),
        ),
        (
            "eps inside the square root: the denominator is sqrt(v_hat) + eps",
            unlike(eps_inside=True),
        ),
        (
            "beta1 and beta2 swapped: m uses beta1 (0.9), v uses beta2 (0.999)",
            adam(betas=betas[::-1]),
        ),
        (
            't is stuck at 1: read t = state["step"] at each update (the base class counts it)',
            adam(t_of=lambda t: 1),
        ),
        (
            't counted twice: state["step"] is already incremented by the base class; read it',
            adam(t_of=lambda t: 2 * t),
        ),
        (
            "m and v are not kept between steps: store them in state "
            '(m = state.setdefault("m", np.zeros_like(p)))',
            adam(forget=("exp_avg", "exp_avg_sq")),
        ),
        (
            'm is not kept between steps: store it in state (state["m"] = m)',
            adam(forget=("exp_avg",)),
        ),
        (
            'v is not kept between steps: store it in state (state["v"] = v)',
            adam(forget=("exp_avg_sq",)),
        ),
        ("the step goes up the gradient: p -= lr * ..., not p += ...", going_up(adam())),
    ]
    if wd:
        found += [
            ("weight decay ignored: use g + weight_decay * p", adam(weight_decay=0.0)),
            (
                "decoupled weight decay (AdamW's p *= 1 - lr * weight_decay): Adam adds "
                "weight_decay * p to the gradient before the moments",
                optim.AdamW(lr, betas=betas, eps=eps, weight_decay=wd),
            ),
        ]
    # NaN in every entry after the first step: m / 0 and v / 0, then inf / inf
    found.append(
        (
            "a division by zero: t = 0 at the first update makes 1 - beta**t = 0 "
            '(t = state["step"] is 1 at the first update)',
            unlike(t0=True),
        )
    )
    return found


# (lr, betas, eps, weight_decay, gradient scale, seed)
CASES = (
    (1e-2, (0.9, 0.999), 1e-8, 0.0, 1.0, 0),
    (0.05, (0.8, 0.95), 1e-8, 0.1, 1.0, 1),
    (1e-2, (0.9, 0.999), 1e-8, 0.0, 1e-4, 2),
    (0.02, (0.5, 0.9), 1e-3, 0.0, 0.1, 3),
)


def grade(g: Grader) -> None:
    cls = g.function("Adam")
    for lr, betas, eps, wd, scale, seed in CASES:
        on = (
            f"lr {lr}, betas {betas}, eps {eps:g}, weight_decay {wd}; W (3, 4) and b (4,), "
            f"gradients of size ~{scale:g}, {STEPS} steps, seed {seed}"
        )
        kwargs = {"betas": betas, "eps": eps, "weight_decay": wd}
        mistakes = _adam_mistakes(lr, betas, eps, wd)
        grade_optimizer(
            g, on, cls, optim.Adam, (lr,), kwargs, problem(seed, STEPS, scale), mistakes
        )


EXERCISE = Exercise(
    name="adam",
    module=1,
    number=10,
    title="Adam, with bias correction",
    concept="SGD, momentum, Nesterov, RMSProp, Adam, AdamW",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        'Read everything first: b1, b2 = self.betas; t = state["step"]; and add the decay, '
        "g = g + self.weight_decay * p (a new array).",
        'm and v live in state: m = state.setdefault("m", np.zeros_like(p)) returns the same '
        "array every step; update it in place (m *= b1; m += (1 - b1) * g).",
        "Bias correction: early on m and v are pulled towards their zero start; dividing by "
        "1 - b1**t and 1 - b2**t undoes it (at t = 1, m_hat = g exactly).",
        "The step: p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps): eps is added after the "
        "square root.",
    ),
)
