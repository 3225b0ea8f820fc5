"""Exercise ``batchnorm``: batch normalisation of (N, C) inputs, forward and backward.

Reference: :class:`dlf.scratch.layers.BatchNorm1d` (the solution is the bodies of its ``forward``
and ``backward``). The learner's layer and dlf's run side by side on copies of the same input,
parameters and buffers. dlf's layer also takes (N, C, L); the exercise grades (N, C).
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import layers

STUB = '''"""Exercise batchnorm: batch normalisation, with running statistics for evaluation.

The class below inherits its constructor from dlf.scratch.layers.BatchNorm1d:
BatchNorm1d(num_features, eps=1e-5, momentum=0.1, *, dtype=np.float32) sets
self.params["gamma"] (ones) and ["beta"] (zeros), self.grads (zeros like them),
self.buffers["running_mean"] (zeros) and ["running_var"] (ones), self.eps, self.momentum, and
self.training (True; layer.eval() sets it to False). Write forward and backward for inputs of
shape (N, C) (dlf's own layer also takes (N, C, L); only (N, C) is graded here).
Check with `dlf learn check batchnorm` after each save.
"""

import numpy as np

import dlf.scratch.layers


class BatchNorm1d(dlf.scratch.layers.BatchNorm1d):
    def forward(self, x):
        """y = gamma * xhat + beta,   xhat = (x - mu) / sqrt(var + eps),   per feature (column).

        Training: mu and var are the mean and the BIASED variance (divide by N) of each column
        of the batch, and the running statistics move towards them (torch's convention):

            running_mean <- (1 - momentum) * running_mean + momentum * mu
            running_var  <- (1 - momentum) * running_var  + momentum * var * N / (N - 1)

        (the running variance stores the UNBIASED estimate). Update the buffers in place
        (running_mean *= ..., running_mean += ...).
        Evaluation (self.training is False): mu and var are running_mean and running_var, and
        nothing is updated. Keep what backward needs (e.g. xhat, 1 / sqrt(var + eps), the mode).
        Shapes: x (N, C) -> y (N, C), in x's dtype; gamma, beta and the buffers (C,).
        Checked: y and both buffers after each of two training forwards, and y in evaluation,
        against dlf's layer (float64, relative error <= 1e-7) on several shapes (N = 2 too),
        eps and momentum values; evaluation leaves the buffers alone; float32 in -> float32 out.
        """
        raise NotImplementedError

    def backward(self, dout):
        """dx from dout; writes dgamma and dbeta INTO self.grads["gamma"] and self.grads["beta"].

            dgamma = sum_n dout * xhat        dbeta = sum_n dout        g = dout * gamma
            training:    dx = (g - mean_n(g) - xhat * mean_n(g * xhat)) / sqrt(var + eps)
            evaluation:  dx = g / sqrt(var + eps)

        In training mu and var are functions of every x of the batch: the two mean terms are
        the gradient that flows through them. In evaluation they are constants.
        Write the gradients in place (self.grads["gamma"][...] = ...): a network's grads dict
        holds these very arrays.
        Shapes: dout (N, C) -> dx (N, C); dgamma, dbeta (C,).
        Checked: dx, dgamma and dbeta against dlf's layer in training and in evaluation, a
        gradient check of dx and dgamma, float32 in -> float32 out.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "BatchNorm1d.forward": layers.BatchNorm1d.forward,
        "BatchNorm1d.backward": layers.BatchNorm1d.backward,
    },
)

# (N, C, eps, momentum, seed)
CASES = ((8, 5, 1e-5, 0.1, 0), (2, 3, 1e-5, 0.1, 1), (16, 4, 1e-3, 0.3, 2))


def _pair(g: Grader, cls, c: int, eps: float, momentum: float, rng: np.random.Generator):
    """The learner's layer and dlf's, float64, with the same random gamma and beta."""
    mine = g.call_inplace(cls, c, eps=eps, momentum=momentum, dtype=np.float64)
    ref = layers.BatchNorm1d(c, eps=eps, momentum=momentum, dtype=np.float64)
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    for layer in (mine, ref):
        layer.params["gamma"][...] = gamma
        layer.params["beta"][...] = beta
    return mine, ref


def _like(ref: layers.BatchNorm1d) -> layers.BatchNorm1d:
    """A new dlf layer in training mode with ``ref``'s gamma, beta, eps and momentum."""
    layer = layers.BatchNorm1d(
        ref.num_features, eps=ref.eps, momentum=ref.momentum, dtype=np.float64
    )
    layer.params["gamma"][...] = ref.params["gamma"]
    layer.params["beta"][...] = ref.params["beta"]
    return layer


def _fixed_stats(ref: layers.BatchNorm1d, mean: np.ndarray, var: np.ndarray):
    """dlf's layer in evaluation with the given statistics: y = gamma (x - mean)/sqrt(var + eps)."""
    layer = _like(ref)
    layer.buffers["running_mean"][...] = mean
    layer.buffers["running_var"][...] = var
    return layer.eval()


def _dx(layer: layers.BatchNorm1d, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dx of dlf's ``layer`` (in its mode) after a forward pass on ``x``."""
    layer.forward(x)
    return layer.backward(dy)


def _forward_mistakes(ref, x: np.ndarray) -> list[Mistake]:
    n = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    gamma, beta = ref.params["gamma"], ref.params["beta"]
    xhat = (x - mu) / np.sqrt(var + ref.eps)
    return [
        Mistake(
            "the unbiased variance (divide by N - 1) used to normalise: normalise with the "
            "biased one (np.var, divide by N); only running_var stores the unbiased one",
            _fixed_stats(ref, mu, var * n / (n - 1)).forward(x),
        ),
        Mistake(
            "eps is missing: divide by sqrt(var + eps)",
            _fixed_stats(ref, mu, var - ref.eps).forward(x),
        ),
        Mistake(
            "eps outside the square root: divide by sqrt(var + eps)",
            gamma * (x - mu) / (np.sqrt(var) + ref.eps) + beta,
        ),
        Mistake("gamma and beta are not applied: y = gamma * xhat + beta", xhat),
        Mistake(
            "divided by the variance, not the standard deviation sqrt(var + eps)",
            gamma * (x - mu) / (var + ref.eps) + beta,
        ),
    ]


def _running(start_mean, start_var, batches, momentum):
    """The running statistics after each batch, for the correct rule and the mistaken ones."""
    rules = {
        "right": lambda r, b: (1 - momentum) * r + momentum * b,
        "swapped": lambda r, b: momentum * r + (1 - momentum) * b,
    }
    out = {}
    for rule, f in rules.items():
        for unbiased in (True, False):
            rm, rv, seq = start_mean.copy(), start_var.copy(), []
            for x in batches:
                n = x.shape[0]
                var = x.var(axis=0) * (n / (n - 1) if unbiased else 1.0)
                rm, rv = f(rm, x.mean(axis=0)), f(rv, var)
                seq.append((rm, rv))
            out[rule, unbiased] = seq
    return out


def _running_mistakes(start_mean, start_var, batches, momentum, t: int, which: int):
    seqs = _running(start_mean, start_var, batches[: t + 1], momentum)
    start = (start_mean, start_var)[which]
    last = batches[t]
    n = last.shape[0]
    batch_stat = (last.mean(axis=0), last.var(axis=0) * n / (n - 1))[which]
    found = [
        Mistake(
            "momentum the wrong way round: running = (1 - momentum) * running + momentum * batch",
            seqs["swapped", True][t][which],
        ),
        Mistake("the running statistics are not updated (or not in place)", start),
        Mistake(
            "the running statistics are replaced by the batch's: running = (1 - momentum) * "
            "running + momentum * batch",
            batch_stat,
        ),
    ]
    if which == 1:
        found.insert(
            0,
            Mistake(
                "running_var stores the biased variance: store var * N / (N - 1)",
                seqs["right", False][t][1],
            ),
        )
        found.append(
            Mistake(
                "momentum the wrong way round and the biased variance stored",
                seqs["swapped", False][t][1],
            )
        )
    return found


def _backward_mistakes(ref, x: np.ndarray, dy: np.ndarray) -> dict[str, list[Mistake]]:
    mu, var = x.mean(axis=0), x.var(axis=0)
    gamma = ref.params["gamma"]
    inv_std = 1 / np.sqrt(var + ref.eps)
    xhat = (x - mu) * inv_std
    g = dy * gamma
    fixed = _fixed_stats(ref, mu, var)
    fixed.forward(x)
    return {
        "dx": [
            Mistake(
                "mean and variance treated as constants (dx = gamma * dout / sqrt(var + eps) is "
                "the evaluation formula): in training add the terms - mean(g) - xhat * "
                "mean(g * xhat)",
                fixed.backward(dy),
            ),
            Mistake(
                "the mean's term is missing: dx = (g - mean(g) - xhat * mean(g * xhat)) / std",
                (g - xhat * (g * xhat).mean(axis=0)) * inv_std,
            ),
            Mistake(
                "the variance's term is missing: dx = (g - mean(g) - xhat * mean(g * xhat)) / std",
                (g - g.mean(axis=0)) * inv_std,
            ),
            Mistake(
                "gamma is missing from dx: g = dout * gamma",
                (dy - dy.mean(axis=0) - xhat * (dy * xhat).mean(axis=0)) * inv_std,
            ),
        ],
        "gamma": [
            Mistake(
                "dgamma = sum(dout * xhat), with the normalised x, not x", (dy * x).sum(axis=0)
            ),
            Mistake("dgamma and dbeta swapped: dgamma = sum(dout * xhat)", dy.sum(axis=0)),
            Mistake(
                "dgamma is the sum of dout * xhat over the batch, not its mean",
                (dy * xhat).mean(axis=0),
            ),
        ],
        "beta": [
            Mistake("dgamma and dbeta swapped: dbeta = sum(dout)", (dy * xhat).sum(axis=0)),
            Mistake("dbeta is the sum of dout over the batch, not its mean", dy.mean(axis=0)),
        ],
    }


def _in_place(g: Grader, layer, arrays: dict[str, np.ndarray]) -> bool:
    moved = [k for k, a in arrays.items() if layer.grads.get(k) is not a]
    return g.check(
        "backward writes dgamma and dbeta into the arrays of self.grads",
        not moved,
        f"self.grads[{moved[0]!r}] is a new array" if moved else "",
        'write into the array the layer holds: self.grads["gamma"][...] = ... (or np.sum(..., '
        'out=self.grads["gamma"])); a network\'s grads dict keeps the old one',
    )


def _training(g: Grader, cls, n: int, c: int, eps: float, momentum: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mine, ref = _pair(g, cls, c, eps, momentum, rng)
    batches = [2.0 * rng.standard_normal((n, c)) + 3.0 for _ in range(2)]
    start_mean, start_var = ref.buffers["running_mean"].copy(), ref.buffers["running_var"].copy()
    for t, x in enumerate(batches):
        y = g.call(mine.forward, x)
        mistakes = _forward_mistakes(ref, x)
        if not g.close(f"y (forward {t + 1})", y, ref.forward(x), mistakes=mistakes):
            return
        for which, name in enumerate(("running_mean", "running_var")):
            ok = g.close(
                f"{name} after forward {t + 1}",
                mine.buffers[name],
                ref.buffers[name],
                mistakes=_running_mistakes(start_mean, start_var, batches, momentum, t, which),
            )
            if not ok:
                return
    x = batches[-1]
    dy = rng.standard_normal((n, c))
    held = dict(mine.grads)
    dx = g.call(mine.backward, dy)
    want_dx = ref.backward(dy)
    known = _backward_mistakes(ref, x, dy)
    g.close("dx (training)", dx, want_dx, mistakes=known["dx"])
    for k in ("gamma", "beta"):
        g.close(f"d{k}", mine.grads[k], ref.grads[k], mistakes=known[k], factors={"N": n})
    _in_place(g, mine, held)


def _evaluation(g: Grader, cls, seed: int) -> None:
    n, c = 6, 4
    rng = np.random.default_rng(seed)
    mine, ref = _pair(g, cls, c, 1e-5, 0.1, rng)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    for layer in (mine, ref):
        layer.buffers["running_mean"][...] = mean
        layer.buffers["running_var"][...] = var
    g.call_inplace(mine.eval)
    ref.eval()
    x = 2.0 * rng.standard_normal((n, c)) + 1.0
    y = g.call(mine.forward, x)
    g.close(
        "y (evaluation)",
        y,
        ref.forward(x),
        mistakes=[
            Mistake(
                "evaluation uses the batch statistics: when not self.training, normalise with "
                "running_mean and running_var",
                _like(ref).forward(x),  # in training mode: the batch statistics
            )
        ],
    )
    g.check(
        "evaluation leaves the running statistics unchanged",
        np.array_equal(mine.buffers["running_mean"], mean)
        and np.array_equal(mine.buffers["running_var"], var),
        "running_mean or running_var changed",
        "update the running statistics in training only",
    )
    dy = rng.standard_normal((n, c))
    dx = g.call(mine.backward, dy)
    g.close(
        "dx (evaluation)",
        dx,
        ref.backward(dy),
        mistakes=[
            Mistake(
                "evaluation backward uses the training formula: in evaluation mu and var are "
                "constants, dx = gamma * dout / sqrt(running_var + eps)",
                _dx(_like(ref), x, dy),
            ),
            Mistake(
                "evaluation uses the batch statistics: when not self.training, normalise with "
                "running_mean and running_var",
                _dx(_fixed_stats(ref, x.mean(axis=0), x.var(axis=0)), x, dy),
            ),
        ],
    )
    g.close("dgamma (evaluation)", mine.grads["gamma"], ref.grads["gamma"])
    g.close("dbeta (evaluation)", mine.grads["beta"], ref.grads["beta"])


def _gradient_check(g: Grader, cls) -> None:
    rng = np.random.default_rng(3)
    layer, _ = _pair(g, cls, 3, 1e-5, 0.1, rng)
    x = rng.standard_normal((4, 3))
    r = rng.standard_normal((4, 3))
    y = g.call(layer.forward, x)
    dx = g.call(layer.backward, r)
    if not all(isinstance(a, np.ndarray) and a.shape == x.shape for a in (y, dx)):
        return  # the comparisons with dlf report it
    dgamma = np.array(layer.grads["gamma"])
    g.gradcheck("dx", lambda v: float(np.sum(layer.forward(v) * r)), x.copy(), dx)
    gamma = layer.params["gamma"]
    g.gradcheck("dgamma", lambda _: float(np.sum(layer.forward(x) * r)), gamma, dgamma)


def _float32(g: Grader, cls) -> None:
    rng = np.random.default_rng(4)
    layer = g.call_inplace(cls, 3)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = g.call(layer.forward, x)
    g.same_dtype("y", y, np.float32)
    g.same_dtype("running_var", layer.buffers["running_var"], np.float32)
    dx = g.call(layer.backward, rng.standard_normal((5, 3)).astype(np.float32))
    g.same_dtype("dx", dx, np.float32)


def grade(g: Grader) -> None:
    cls = g.function("BatchNorm1d")
    for n, c, eps, momentum, seed in CASES:
        with g.case(f"training, x ({n}, {c}), eps {eps:g}, momentum {momentum}, seed {seed}"):
            _training(g, cls, n, c, eps, momentum, seed)
    with g.case("evaluation with running_mean, running_var given, x (6, 4)"):
        _evaluation(g, cls, 5)
    with g.case("training, x (4, 3), loss sum(y * r)"):
        _gradient_check(g, cls)
    with g.case("float32 x (5, 3), training"):
        _float32(g, cls)


EXERCISE = Exercise(
    name="batchnorm",
    module=1,
    number=13,
    title="Batch normalisation",
    concept="Batch and layer normalisation",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Forward in training: mu = x.mean(axis=0), var = x.var(axis=0) (divides by N), "
        "xhat = (x - mu) / np.sqrt(var + self.eps), y = gamma * xhat + beta.",
        "The buffers: rm = self.buffers['running_mean']; rm *= 1 - self.momentum; "
        "rm += self.momentum * mu. For running_var add momentum * var * N / (N - 1).",
        "Keep self.cache = (xhat, inv_std, self.training) for backward. In evaluation use the "
        "buffers for mu and var, and update nothing.",
        "Backward: self.grads['gamma'][...] = (dout * xhat).sum(axis=0), the same for beta "
        "with dout; g = dout * gamma; in training dx = (g - g.mean(0) - xhat * (g * xhat)"
        ".mean(0)) * inv_std, in evaluation g * inv_std.",
    ),
)
