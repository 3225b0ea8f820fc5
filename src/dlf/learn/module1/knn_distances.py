"""Exercise ``knn-distances``: all pairwise squared distances without loops, and the k-NN vote.

Reference: :func:`dlf.scratch.classifiers.knn.pairwise_sq_distances` and
:func:`dlf.scratch.classifiers.knn.majority_vote` (the solution is their bodies).
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch.classifiers import knn

STUB = '''"""Exercise knn-distances: the two computations of a k-nearest-neighbour classifier.

k-NN predicts the most frequent label among the k training points nearest to a test point.
Write the distances between every test row and every training row with no Python loop (one
matrix product does the work), then the vote among the neighbours' labels.
Check with `dlf learn check knn-distances` after each save.
"""

import numpy as np


def pairwise_sq_distances(A, B):
    """Squared L2 distances between every row of A and every row of B, without loops.

        D[i, j] = ||A[i] - B[j]||^2 = ||A[i]||^2 - 2 A[i].B[j] + ||B[j]||^2

    For all pairs at once: the middle term is the matrix product A B^T, the two others are
    the row norms broadcast along a column and along a row. Rounding can make a distance that
    is truly 0 come out as -1e-16: clip the result at 0.
    Shapes: A (M, D), B (N, D) floats -> D (M, N), in the dtype of A and B.
    Checked: against dlf (float64, relative error <= 1e-7) on several shapes and seeds, M != N
    (the result is (M, N), not (N, M)), identical and nearly identical points (no negative
    distance), float32 in -> float32 out, inputs left unchanged, and no for/while/comprehension.
    """
    raise NotImplementedError


def majority_vote(neighbour_labels, n_classes):
    """The most frequent label in each row of neighbour_labels; a tie goes to the smallest label.

        vote[i] = argmax_c #{j : neighbour_labels[i, j] == c}   (the smallest c among ties)

    Shapes: neighbour_labels (M, k) ints in [0, n_classes), n_classes an int -> (M,) ints.
    A loop over the M rows is allowed (np.bincount counts one row); a single bincount of
    row * n_classes + label does all rows at once.
    Checked: against dlf on random labels, k = 1, labels that never occur, and ties.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "pairwise_sq_distances": knn.pairwise_sq_distances,
        "majority_vote": knn.majority_vote,
    },
)

# (M, N, D, seed): M != N catches a transposed result; M == N names the wrong broadcast
CASES = ((4, 4, 3, 3), (3, 5, 4, 0), (1, 1, 3, 1), (7, 2, 6, 2))
NEGATIVE = "rounding made a zero distance slightly negative: clip with np.maximum(D, 0)"


def _near_points() -> np.ndarray:
    """Rows 0 and 1 are 1 ulp apart: ||a||^2 - 2 a.b + ||b||^2 rounds to -4e-16 in IEEE float64.

    Each term is one correctly rounded product (the other coordinates are 0), so any order of
    the three terms gives the same negative value on every machine.
    """
    x = 1.6369616873214543
    return np.array([[x, 0.0], [np.nextafter(x, 2.0), 0.0], [0.0, 1.0], [1.0, -1.0]])


def _distance_mistakes(A: np.ndarray, B: np.ndarray) -> list[Mistake]:
    """Known wrong distance matrices, each as the learner would return it: clipped or not."""
    D = knn.pairwise_sq_distances(A, B)
    a2, b2, ab = np.sum(A * A, axis=1)[:, None], np.sum(B * B, axis=1)[None, :], A @ B.T
    formulas = [
        ("the cross term is -2 A B^T: its sign is flipped", a2 + 2 * ab + b2),
        ("the cross term is -2 A B^T: the factor 2 is missing", a2 - ab + b2),
        ("||B[j]||^2 is missing: add the row norms of B along each row", a2 - 2 * ab),
        ("||A[i]||^2 is missing: add the row norms of A down each column", b2 - 2 * ab),
    ]
    if A.shape[0] == B.shape[0]:
        formulas.append(
            (
                "the row norms are broadcast the wrong way: ||A[i]||^2 goes down a column "
                "(a2[:, None]), ||B[j]||^2 along a row (b2[None, :])",
                a2.T - 2 * ab + b2.T,
            )
        )
    return [
        Mistake("returned L2 distances (a square root): return the squared distances", np.sqrt(D)),
        *(Mistake(m, v) for m, v in formulas),
        *(Mistake(m, np.maximum(v, 0)) for m, v in formulas),
    ]


def _check_distances(g: Grader, dist, on: str, A: np.ndarray, B: np.ndarray) -> None:
    with g.case(on):
        D = g.call(dist, A, B)
        want = knn.pairwise_sq_distances(A, B)
        g.close("distances", D, want, mistakes=_distance_mistakes(A, B))
        if np.shape(D) == want.shape:
            low = float(np.min(D))
            g.check("no negative distance", low >= 0, f"smallest entry {low:.3g}", NEGATIVE)


def _vote_mistakes(labels: np.ndarray, n_classes: int) -> list[Mistake]:
    M = labels.shape[0]
    counts = np.stack([np.bincount(row, minlength=n_classes) for row in labels])
    top = n_classes - 1
    overall = np.full(M, np.bincount(labels.ravel(), minlength=n_classes).argmax())
    return [
        Mistake(
            "a tie went to the largest label: np.argmax returns the first (smallest) of tied "
            "maxima, so count with the labels in increasing order",
            top - knn.majority_vote(top - labels, n_classes),
        ),
        Mistake("returned the count of the winning label, not the label", counts.max(axis=1)),
        Mistake("counted the labels of the whole array, not of each row", overall),
    ]


def grade(g: Grader) -> None:
    dist = g.function("pairwise_sq_distances")
    g.no_loops(dist)
    for m, n, d, seed in CASES:
        rng = np.random.default_rng(seed)
        A, B = rng.standard_normal((m, d)), rng.standard_normal((n, d))
        _check_distances(g, dist, f"A {A.shape}, B {B.shape}, seed {seed}", A, B)
    near = _near_points()
    _check_distances(g, dist, "A = B, two rows 1 ulp apart", near, near.copy())
    same = 100 + np.random.default_rng(4).standard_normal((20, 5))
    _check_distances(g, dist, "A = B (20, 5), entries near 100", same, same.copy())
    with g.case("float32 A (3, 4), B (5, 4)"):
        rng = np.random.default_rng(5)
        A32, B32 = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5, 4)))
        g.same_dtype("distances", g.call(dist, A32, B32), np.float32)

    vote = g.function("majority_vote")
    rng = np.random.default_rng(6)
    cases = [
        ("random labels (6, 5), 4 classes", rng.integers(0, 4, (6, 5)), 4),
        ("k = 1: labels (5, 1), 3 classes", rng.integers(0, 3, (5, 1)), 3),
        ("labels 0..1 of 5 classes (4, 3)", rng.integers(0, 2, (4, 3)), 5),
        (
            "ties: [[2, 1, 2, 1], [0, 3, 3, 0], [3, 2, 1, 0], [1, 1, 2, 2]]",
            np.array([[2, 1, 2, 1], [0, 3, 3, 0], [3, 2, 1, 0], [1, 1, 2, 2]]),
            4,
        ),
    ]
    for on, labels, n_classes in cases:
        with g.case(on):
            got = g.call(vote, labels, n_classes)
            want = knn.majority_vote(labels, n_classes)
            g.close("vote", got, want, mistakes=_vote_mistakes(labels, n_classes))


EXERCISE = Exercise(
    name="knn-distances",
    module=1,
    number=3,
    title="k-NN: all pairwise distances without loops, and the vote",
    concept="k-nearest neighbours",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Expand ||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2. The (M, N) matrix of every a.b is one "
        "product: A @ B.T.",
        "The row norms: a2 = np.sum(A * A, axis=1) has shape (M,), b2 has shape (N,). Reshape "
        "them so that broadcasting gives (M, N): a2[:, None] and b2[None, :].",
        "D = a2[:, None] - 2 * A @ B.T + b2[None, :], then np.maximum(D, 0): rounding can "
        "leave -1e-16 where the distance is 0.",
        "The vote: np.bincount(row, minlength=n_classes) counts one row's labels; its argmax is "
        "the first of the largest counts, i.e. the smallest label among ties.",
    ),
)
