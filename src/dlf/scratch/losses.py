"""Losses returning ``(loss, dL/dinput)``: softmax cross-entropy, multiclass SVM, MSE, L2 penalty.

Each is a plain function of arrays (CS231n style): the scalar loss as a Python float and its
gradient with respect to the first argument, with that argument's shape.
"""

from __future__ import annotations

import numpy as np

Arrays = dict[str, np.ndarray]


def _check_labels(scores: np.ndarray, y: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Flatten ``scores`` (..., C) to (N, C) and ``y`` (...) to (N,), checking the label range."""
    scores = np.asarray(scores)
    y = np.asarray(y)
    if scores.shape[:-1] != y.shape or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{name}: expected integer labels of shape {scores.shape[:-1]} for scores of shape "
            f"{scores.shape}, got labels of shape {y.shape} and dtype {y.dtype}"
        )
    num_classes = scores.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name}: labels must lie in [0, {num_classes}), got [{y.min()}, {y.max()}]"
        )
    return scores.reshape(-1, num_classes), y.reshape(-1)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``softmax(logits)`` against integer labels, and ``dL/dlogits``.

    ``L = -1/N sum_i log p_i[y_i]``, ``log p_i = z_i - max(z_i) - log sum_j exp(z_ij - max(z_i))``
    (log-sum-exp: no overflow, however large the logits). ``dL/dz_i = (p_i - onehot(y_i)) / N``.
    Shapes: ``logits`` (N, C) or (..., C), ``y`` (N,) or (...) ints in [0, C); N counts every
    position (so (B, T, C) logits of a language model average over B*T tokens).
    Example: ``softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))[0]`` -> ln 4 = 1.386.
    """
    z, labels = _check_labels(logits, y, "softmax_cross_entropy")
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    log_p_true = shifted[rows, labels] - np.log(sum_exp[:, 0])
    loss = -float(np.mean(log_p_true, dtype=np.float64))
    dz = np.divide(exp, sum_exp, out=exp)  # softmax probabilities, reusing the buffer
    dz[rows, labels] -= 1
    dz /= n
    return loss, dz.reshape(np.shape(logits))


def svm_loss(scores: np.ndarray, y: np.ndarray, margin: float = 1.0) -> tuple[float, np.ndarray]:
    """Multiclass hinge loss (Weston & Watkins; CS231n's SVM) and ``dL/dscores``.

    ``L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_i,y_i + margin)`` (summed over classes,
    averaged over the batch; torch's ``multi_margin_loss`` is this divided by C).
    ``dL/ds_ij = [margin_ij > 0] / N`` for ``j != y_i`` and ``-(number of positive margins) / N``
    for ``j = y_i``. Shapes: ``scores`` (N, C), ``y`` (N,) ints -> loss, ``dscores`` (N, C).
    Example: ``svm_loss(np.array([[1.0, 2.0, 0.0]]), np.array([0]))[0]`` -> 2 + 0 = 2.0.
    """
    s, labels = _check_labels(scores, y, "svm_loss")
    n = s.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, s - s[rows, labels][:, None] + margin)
    margins[rows, labels] = 0
    loss = float(margins.sum(dtype=np.float64)) / n
    ds = (margins > 0).astype(s.dtype)
    ds[rows, labels] = -ds.sum(axis=1)
    ds /= n
    return loss, ds.reshape(np.shape(scores))


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements (torch's ``mse_loss``), and ``dL/dpred``.

    ``L = 1/M sum (pred - target)^2`` with M = ``pred.size``;  ``dL/dpred = 2 (pred - target) / M``.
    Shapes: ``pred`` and ``target`` of the same shape -> loss, ``dpred`` of that shape.
    Example: ``mse(np.array([1.0, 3.0]), np.array([0.0, 0.0]))`` -> (5.0, [1.0, 3.0]).
    """
    pred = np.asarray(pred)
    if pred.shape != np.shape(target):
        raise ValueError(f"mse: pred {pred.shape} and target {np.shape(target)} differ in shape")
    diff = pred - target
    loss = float(np.mean(diff * diff, dtype=np.float64))
    return loss, diff * (2.0 / diff.size)


def is_decayed(name: str, p: np.ndarray) -> bool:
    """Whether L2 weight decay applies to parameter ``p``: weight matrices only (``ndim >= 2``).

    Biases, and the ``gamma``/``beta`` of normalisation layers, are vectors and are left out:
    they do not multiply inputs, so shrinking them does not smooth the function and can only
    hurt the fit (the rule of nanoGPT's optimizer groups). Embedding tables (2-D) are decayed.
    Example: ``is_decayed("0.W", np.ones((3, 2)))`` -> True; ``is_decayed("0.b", np.ones(2))``
    -> False.
    """
    return p.ndim >= 2


def l2_penalty(params: Arrays, weight_decay: float) -> tuple[float, Arrays]:
    """L2 weight decay as a loss term: ``R = lambda/2 * sum_W ||W||^2`` and ``dR/dW = lambda * W``.

    Sums over the weight matrices of ``params`` (see :func:`is_decayed`: biases and norm scales
    are not decayed). Returns the penalty and a dict of gradients for the decayed keys only;
    add them to the data gradients: ``for k, g in dreg.items(): grads[k] += g``.
    With plain SGD this is the classic decay ``W <- (1 - lr * lambda) W - lr * dL/dW``.
    Example: ``l2_penalty({"W": np.ones((2, 2)), "b": np.ones(2)}, 0.1)`` -> (0.2, {"W": 0.1s}).
    """
    loss = 0.0
    grads: Arrays = {}
    for k, p in params.items():
        if is_decayed(k, p):
            loss += 0.5 * weight_decay * float(np.sum(p * p, dtype=np.float64))
            grads[k] = weight_decay * p
    return loss, grads
