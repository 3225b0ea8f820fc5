"""Exercise ``softmax-loss``: the softmax cross-entropy and its gradient, vectorised and stable.

Reference: :func:`dlf.scratch.losses.softmax_cross_entropy` (the solution is its body).
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, solution_variant
from dlf.learn.source import fill_bodies
from dlf.scratch import losses

STUB = '''"""Exercise softmax-loss: the softmax cross-entropy loss of class scores (logits).

The loss every classifier of this course trains with (your version also trains the MNIST MLP
of `dlf run mnist-mlp workspace=DIR`). Write it vectorised and numerically stable.
Check with `dlf learn check softmax-loss` after each save.
"""

import numpy as np


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) against integer labels, and dL/dlogits.

    With z_i the row i of logits, p_i = softmax(z_i) and N the number of rows:

        log p_ij = z_ij - max_k z_ik - log sum_k exp(z_ik - max_k z_ik)     (log-sum-exp)
        L        = -1/N sum_i log p_i,y_i
        dL/dz_ij = (p_ij - [j == y_i]) / N

    Subtracting each row's maximum changes nothing mathematically but keeps exp() from
    overflowing: logits of 1000 must give a finite loss.
    Shapes: logits (N, C) floats, y (N,) ints in [0, C) -> (loss: float, dlogits: (N, C)),
    dlogits in the dtype of logits. No Python loop.
    Checked: loss and dlogits against dlf (float64, relative error <= 1e-7) on several shapes
    and seeds, a batch of one, logits in the thousands (finite), a gradient check, float32 in ->
    float32 dlogits, inputs left unchanged, and no for/while/comprehension.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"softmax_cross_entropy": losses.softmax_cross_entropy})

CASES = ((5, 4, 0), (1, 3, 1), (16, 10, 2), (4, 4, 3))  # (N, C, seed); (4, 4): rows == columns

OVERFLOW = "overflow: subtract the row maximum before exp (exp(1000) is inf in float64)"
ROW_MAX = (
    "a row's exp() underflowed to 0 and its log is -inf: subtract EACH ROW's own maximum "
    "(z.max(axis=1, keepdims=True)), not one maximum of the whole array"
)
ALL = "normalised over the whole array (a sum without axis): sum over each row, axis=1"
COLUMNS = "normalised over columns (axis=0): the softmax sums over each row, axis=1"
KEEPDIMS = "row sums divided the columns: keep their shape with keepdims=True"
LOG_OF_P = (
    "log of a probability that underflowed to 0 (-inf): take log p = z - max - "
    "log(sum(exp(z - max))) directly, never np.log(p)"
)


def _mistakes(z: np.ndarray, y: np.ndarray) -> tuple[list[Mistake], list[Mistake]]:
    """Known wrong (loss, dlogits) of a learner's softmax cross-entropy, each named."""
    n, c = z.shape
    rows = np.arange(n)
    loss, dz = losses.softmax_cross_entropy(z, y)
    p = dz * n
    p[rows, y] += 1
    wrong_norms = []  # (message, softmax normalised the wrong way)
    with np.errstate(all="ignore"):  # on huge logits some of these wrong versions are inf
        for shift in (z.max(axis=1, keepdims=True), z.max()):
            e = np.exp(z - shift)
            wrong_norms.append((ALL, e / e.sum()))
            wrong_norms.append((COLUMNS, e / e.sum(axis=0, keepdims=True)))
            if n == c:  # a missing keepdims only broadcasts (wrongly) when N == C
                wrong_norms.append((KEEPDIMS, e / e.sum(axis=1)[None, :]))
        wrong_losses = [(m, -np.mean(np.log(q[rows, y]))) for m, q in wrong_norms]
    loss_mistakes = [
        Mistake("forgot to divide by N (the mean over the batch)", loss * n),
        Mistake("the sign is flipped: L = -mean(log p of the true class)", -loss),
        Mistake("averaged over N*C entries: divide by N only", loss / c),
        *(Mistake(m, v) for m, v in wrong_losses),
    ]
    one_hot = np.zeros_like(p)
    one_hot[rows, y] = 1
    dz_mistakes = [
        Mistake("forgot to divide by N", dz * n),
        Mistake("the -1 at the true label is missing: dL/dz = (p - onehot(y)) / N", p / n),
        Mistake("the sign is flipped: dL/dz = (p - onehot(y)) / N, not onehot(y) - p", -dz),
        Mistake("divided by N*C: divide by N only", dz / c),
        *(Mistake(m, (q - one_hot) / n) for m, q in wrong_norms),
    ]
    return loss_mistakes, dz_mistakes


SHIFT = "shifted = z - z.max(axis=1, keepdims=True)"
LOG_P = "log_p_true = shifted[rows, labels] - np.log(sum_exp[:, 0])"
UNSTABLE = {  # mistake -> edits of the solution that make it (the solution's own structure)
    OVERFLOW: ((SHIFT, "shifted = z"),),
    ROW_MAX: ((SHIFT, "shifted = z - z.max()"),),
    LOG_OF_P: ((LOG_P, "log_p_true = np.log(exp[rows, labels] / sum_exp[:, 0])"),),
}


def _probabilities_first(z: np.ndarray, y: np.ndarray, shift) -> tuple[float, np.ndarray]:
    """(loss, dlogits) of code that takes p = softmax first and then log(p[y])."""
    n = len(y)
    rows = np.arange(n)
    e = np.exp(z - shift)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[rows, y]))
    dz = p.copy()
    dz[rows, y] -= 1
    return loss, dz / n


def _unstable(z: np.ndarray, y: np.ndarray, order: tuple[str, ...]):
    """(loss mistakes, dlogits mistakes) of the usual unstable programs, in the order of the
    messages ``order``: each value with NaN or inf where that program has them (those that
    stay finite on ``z`` are left out)."""
    values: dict[str, list[tuple[float, np.ndarray]]] = {m: [] for m in UNSTABLE}
    with np.errstate(all="ignore"):
        for message, edits in UNSTABLE.items():
            values[message].append(solution_variant(SOLUTION, edits)["softmax_cross_entropy"](z, y))
        values[OVERFLOW].append(_probabilities_first(z, y, 0.0))
        values[ROW_MAX].append(_probabilities_first(z, y, z.max()))
    loss_mistakes, dz_mistakes = [], []
    for message in order:
        for loss, dz in values[message]:
            if not np.isfinite(loss):
                loss_mistakes.append(Mistake(message, loss))
            if not np.all(np.isfinite(dz)):
                dz_mistakes.append(Mistake(message, dz))
    return loss_mistakes, dz_mistakes


def _huge_cases() -> list[tuple[str, np.ndarray, np.ndarray, list[Mistake], list[Mistake]]]:
    """Logits in the thousands: (label, logits, y, extra loss mistakes, extra dlogits mistakes)."""
    rng = np.random.default_rng(5)
    big = 1000 + 10 * rng.standard_normal((4, 3))
    far = np.array([[1000.0, 0.0, 10.0], [-5.0, 3.0, 2.0]])
    mixed = np.array([[1000.0, 998.0, 999.0], [-1000.0, -1001.0, -999.0]])
    cases = [  # (label, logits, y, the mistakes in the order they are named)
        ("logits near +1000", big, np.array([0, 1, 2, 0]), (OVERFLOW, ROW_MAX, LOG_OF_P)),
        ("logits of -1000 and +1000 in different rows", mixed, np.array([1, 2]),
         (ROW_MAX, OVERFLOW, LOG_OF_P)),
        ("a true class 1000 below the row's maximum", far, np.array([1, 0]),
         (LOG_OF_P, OVERFLOW, ROW_MAX)),
    ]  # fmt: skip
    return [(on, z, y, *_unstable(z, y, order)) for on, z, y, order in cases]


def grade(g: Grader) -> None:
    ce = g.function("softmax_cross_entropy")
    g.no_loops(ce)
    cases = []
    for n, c, seed in CASES:
        rng = np.random.default_rng(seed)
        z, y = 3 * rng.standard_normal((n, c)), rng.integers(0, c, n)
        cases.append((f"logits {z.shape}, seed {seed}", z, y, [], []))
    for on, z, y, loss_extra, dz_extra in cases + _huge_cases():
        want_loss, want_dz = losses.softmax_cross_entropy(z, y)
        loss_mistakes, dz_mistakes = _mistakes(z, y)
        with g.case(on):
            loss, dz = g.call(ce, z, y)
            factors = {"N": z.shape[0], "C": z.shape[1]}
            g.close("loss", loss, want_loss, mistakes=loss_extra + loss_mistakes, factors=factors)
            g.close("dlogits", dz, want_dz, mistakes=dz_extra + dz_mistakes, factors=factors)

    rng = np.random.default_rng(7)
    z, y = 2 * rng.standard_normal((3, 4)), np.array([2, 0, 3])
    with g.case("logits (3, 4), seed 7"):
        _, dz = g.call(ce, z, y)

        def softmax_cross_entropy_loss(v: np.ndarray) -> float:
            return ce(v, y)[0]

        g.gradcheck("dlogits", softmax_cross_entropy_loss, z.copy(), dz)
    with g.case("float32 logits (3, 5)"):
        z32 = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
        _, dz32 = g.call(ce, z32, np.array([0, 4, 2]))
        g.same_dtype("dlogits", dz32, np.float32)


EXERCISE = Exercise(
    name="softmax-loss",
    module=1,
    number=2,
    title="The softmax cross-entropy loss, stable and vectorised",
    concept="Linear classifiers: SVM and softmax",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Work row by row in your head, but write it for the whole array: "
        "shifted = logits - logits.max(axis=1, keepdims=True) keeps every exp() <= 1.",
        "log p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)); the loss is "
        "minus the mean of log p at the true labels: log_p[np.arange(N), y].",
        "The gradient is the softmax itself, p = np.exp(log_p), with 1 subtracted at the true "
        "label of each row, all divided by N.",
        "dz = p.copy(); dz[np.arange(N), y] -= 1; dz /= N. Return float(loss) and dz: "
        "keeping constants as Python numbers keeps float32 logits in float32.",
    ),
)
