"""Optimizers over ``(params, grads)``: SGD, momentum, Nesterov, RMSProp, Adam and AdamW, and
gradient clipping by global norm.

Every optimizer keeps the protocol of the layers: ``params`` and ``grads`` are dicts of arrays with
the same keys, and ``opt.step(params, grads)`` updates each ``params[k]`` IN PLACE (the layer
keeps its array object), using per-parameter state (velocity, moments, step count) keyed by ``k``.
Keys must therefore name one parameter each across all calls: pass a whole model's dict (e.g.
``{"0.W": ..., "0.b": ..., "2.W": ...}``), not several layers' ``{"W", "b"}`` in turn.

``opt.lr`` is a plain attribute: a schedule sets it before each step (``opt.lr = sched(t)``).

The update rules, hyper-parameter names and defaults are those of ``torch.optim`` (tested for
parity in float64), so a learner can move between the two without surprises. Updates run in the
parameter's dtype with in-place NumPy ops and one preallocated scratch buffer per parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Arrays = dict[str, np.ndarray]


class Optimizer:
    """Base class: walks the keys of ``params`` and applies :meth:`update` to each.

    Subclasses implement ``update(p, g, state)``: change ``p`` in place from gradient ``g``,
    keeping what they need in the dict ``state``, which starts with ``param`` (``p`` itself),
    ``key`` (its name in ``params``), ``step`` (the update count: 1 on the first) and ``tmp`` (a
    scratch array like ``p``).
    """

    def __init__(self, lr: float):
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.lr = lr
        self.state: dict[str, dict] = {}

    def step(self, params: Arrays, grads: Arrays) -> None:
        """Update every ``params[k]`` in place from ``grads[k]`` (same keys, same shapes)."""
        for k, p in params.items():
            if k not in grads:
                raise KeyError(f"no gradient for parameter {k!r}: run backward before step")
            state = self.state.get(k)
            if state is None:
                state = self.state[k] = {"param": p, "key": k, "step": 0, "tmp": np.empty_like(p)}
            elif state["param"] is not p:
                raise ValueError(
                    f"parameter key {k!r} now names a different array: give every parameter a "
                    "unique key (pass the whole model's params dict, e.g. Sequential.params) or "
                    "use one optimizer per layer"
                )
            state["step"] += 1
            self.update(p, grads[k], state)

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _buffer(state: dict, name: str) -> np.ndarray:
        """A scratch or state array of ``p``'s shape and dtype, created (zeroed) on first use."""
        buf = state.get(name)
        if buf is None:
            buf = state[name] = np.zeros_like(state["param"])
        return buf

    @staticmethod
    def _decayed_grad(p: np.ndarray, g: np.ndarray, weight_decay: float, tmp: np.ndarray):
        """``g + weight_decay * p`` written into ``tmp`` (``g`` itself if no decay)."""
        if not weight_decay:
            return g
        np.multiply(p, weight_decay, out=tmp)
        tmp += g
        return tmp


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    With ``g = grad + weight_decay * p`` and velocity ``v`` (starting at 0), torch.optim.SGD's rule
    (``dampening=0``)::

        plain:     p <- p - lr * g
        momentum:  v <- mu * v + g;   p <- p - lr * v
        Nesterov:  v <- mu * v + g;   p <- p - lr * (g + mu * v)

    The Nesterov form is Sutskever et al. (2013)'s look-ahead rewritten in terms of the current
    parameters. Shapes: any; ``p`` and ``g`` alike.
    """

    def __init__(
        self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
    ):
        super().__init__(lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0, e.g. SGD(lr, momentum=0.9)")
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        tmp = state["tmp"]
        g = self._decayed_grad(p, g, self.weight_decay, tmp)
        mu = self.momentum
        if mu:
            v = self._buffer(state, "velocity")
            v *= mu
            v += g
            if self.nesterov:  # p -= lr * g, then p -= lr * mu * v
                np.multiply(g, self.lr, out=tmp)
                p -= tmp
                np.multiply(v, self.lr * mu, out=tmp)
                p -= tmp
                return
            g = v
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class Momentum(SGD):
    """SGD with (heavy-ball) momentum: ``v <- mu * v + g;  p <- p - lr * v``.

    The velocity ``v`` is a running sum of past gradients decaying by ``mu`` per step, so along a
    consistent direction the step grows to about ``lr / (1 - mu)`` times the gradient.
    Equal to ``torch.optim.SGD(lr=lr, momentum=mu, weight_decay=weight_decay)``.
    """

    def __init__(self, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, momentum=momentum, weight_decay=weight_decay)


class Nesterov(SGD):
    """SGD with Nesterov momentum: ``v <- mu * v + g;  p <- p - lr * (g + mu * v)``.

    The step uses the gradient "looked ahead" along the velocity, which damps the oscillations of
    plain momentum. Equal to ``torch.optim.SGD(lr, momentum=mu, nesterov=True)``.
    """

    def __init__(self, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012): divide the step by a running root-mean-square of the gradient.

    With ``g = grad + weight_decay * p``, torch.optim.RMSprop's rule::

        s <- alpha * s + (1 - alpha) * g^2                   (running mean of g^2)
        centered:  gbar <- alpha * gbar + (1 - alpha) * g;   s_hat = s - gbar^2
        otherwise: s_hat = s
        d = g / (sqrt(s_hat) + eps)                          (eps outside the square root)
        momentum > 0:  b <- momentum * b + d;  p <- p - lr * b
        otherwise:     p <- p - lr * d

    Defaults as torch: ``lr=1e-2, alpha=0.99, eps=1e-8``. Shapes: any; ``p`` and ``g`` alike.
    """

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        super().__init__(lr)
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        g = self._decayed_grad(p, g, self.weight_decay, state["tmp"])
        d = self._buffer(state, "work") if g is state["tmp"] else state["tmp"]
        s = self._buffer(state, "square_avg")
        a = self.alpha
        s *= a
        np.multiply(g, g, out=d)
        d *= 1 - a
        s += d
        if self.centered:
            gbar = self._buffer(state, "grad_avg")
            gbar *= a
            np.multiply(g, 1 - a, out=d)
            gbar += d
            np.multiply(gbar, gbar, out=d)
            np.subtract(s, d, out=d)
            np.sqrt(d, out=d)
        else:
            np.sqrt(s, out=d)
        d += self.eps
        np.divide(g, d, out=d)
        if self.momentum > 0:
            b = self._buffer(state, "momentum_buffer")
            b *= self.momentum
            b += d
            np.multiply(b, self.lr, out=d)
        else:
            d *= self.lr
        p -= d


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum on g and RMSProp on g^2, both bias-corrected.

    With ``g = grad + weight_decay * p`` (L2 decay, coupled to the adaptive scaling) and step
    count ``t = 1, 2, ...``, torch.optim.Adam's rule::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)      (undo the bias towards 0)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    Defaults as torch: ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8``. Shapes: any.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = eps
        self.weight_decay = weight_decay

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        self._adam(p, g, state, self.weight_decay)

    def _adam(self, p: np.ndarray, g: np.ndarray, state: dict, l2: float) -> None:
        g = self._decayed_grad(p, g, l2, state["tmp"])
        w = self._buffer(state, "work") if g is state["tmp"] else state["tmp"]
        m = self._buffer(state, "exp_avg")
        v = self._buffer(state, "exp_avg_sq")
        b1, b2 = self.betas
        t = state["step"]
        m *= b1
        np.multiply(g, 1 - b1, out=w)
        m += w
        v *= b2
        np.multiply(g, g, out=w)
        w *= 1 - b2
        v += w
        np.sqrt(v, out=w)
        w /= math.sqrt(1 - b2**t)
        w += self.eps
        np.divide(m, w, out=w)
        w *= self.lr / (1 - b1**t)
        p -= w


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the gradient.

    First shrink, then take a plain Adam step (no L2 term in ``g``)::

        p <- p * (1 - lr * weight_decay)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)        (m_hat, v_hat as in Adam)

    Unlike Adam's L2 term, the decay is not divided by ``sqrt(v_hat)``, so every weight shrinks
    at the same rate. Defaults as torch.optim.AdamW: ``weight_decay=1e-2``.

    ``decay(key, p) -> bool`` picks the parameters that decay (asked once per parameter); None:
    all of them. ``decay=is_decayed`` (:mod:`dlf.scratch.losses`) decays the matrices only, as
    nanoGPT's two torch param groups ``[{matrices, weight_decay}, {vectors, 0.0}]`` do.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        decay: Callable[[str, np.ndarray], bool] | None = None,
    ):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.decay = decay

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if "decays" not in state:
            state["decays"] = self.decay is None or bool(self.decay(state["key"], p))
        if self.weight_decay and state["decays"]:
            p *= 1 - self.lr * self.weight_decay
        self._adam(p, g, state, 0.0)


def clip_grad_norm(grads: Arrays, max_norm: float) -> float:
    """Scale all gradients by one factor, IN PLACE, so that their global norm is at most
    ``max_norm``; returns the global norm before clipping.

        norm = sqrt(sum_k ||g_k||^2)            g_k <- g_k * min(1, max_norm / (norm + 1e-6))

    The rule of ``torch.nn.utils.clip_grad_norm_`` (the 1e-6 keeps a zero gradient finite): the
    direction of the whole gradient is kept, only its length shrinks. An array that appears
    under several keys (a tied weight's gradient) counts once. A non-finite norm is returned
    as it is, and the gradients are then scaled by NaN or 0, as torch does.
    Example: ``{"a": [3.0], "b": [4.0]}``, max_norm 1 -> returns 5.0; grads ~ [0.6], [0.8].
    """
    arrays = list({id(g): g for g in grads.values()}.values())
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in arrays))
    coef = max_norm / (norm + 1e-6)
    if not coef >= 1.0:  # also when NaN
        for g in arrays:
            g *= coef
    return norm
