"""Exercise ``positional-encoding``: the transformer's sinusoidal positional encoding, in NumPy.

Reference: :func:`dlf.transformer.positional.sinusoidal_table` (PyTorch, float64), converted to
NumPy by the grader. The project's is a torch function, so the solution's NumPy body is written
here. The table exists for even ``d_model`` only (sin/cos pairs), as in the project.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies

STUB = '''"""Exercise positional-encoding: the sinusoidal positional encoding of the transformer.

Attention is blind to order: permute the tokens and each output is permuted the same way. The
transformer adds to each token's embedding a vector that depends on its position only, built
from sines and cosines of geometrically spaced frequencies (Vaswani et al. 2017, section 3.5).
NumPy only, no Python loop. Check with `dlf learn check positional-encoding` after each save.
"""

import numpy as np


def sinusoidal_table(n_positions, d_model, base=10000.0):
    """The (n_positions, d_model) table PE of the positional encoding, positions 0, 1, ...:

        PE[pos, 2i]     = sin(pos / base^(2i / d_model))
        PE[pos, 2i + 1] = cos(pos / base^(2i / d_model)),      i = 0 .. d_model/2 - 1

    Columns come in pairs that share one frequency: column j belongs to pair i = j // 2, with
    the sine in the even column and the cosine in the odd one (interleaved, not two halves).
    Build the (n_positions, d_model / 2) angles by broadcasting a column of positions against a
    row of frequencies, no Python loop.
    Shapes: n_positions, d_model ints (d_model even), base a float
            -> (n_positions, d_model) float64.
    Checked: against dlf's sinusoidal_table (dlf.transformer.positional; float64, relative
    error <= 1e-7) for several sizes and bases, a single position, float64, no loop.
    """
    raise NotImplementedError
'''

BODY = """
positions = np.arange(n_positions, dtype=np.float64)[:, None]
angles = positions / base ** (np.arange(0, d_model, 2) / d_model)
table = np.empty((n_positions, d_model))
table[:, 0::2] = np.sin(angles)
table[:, 1::2] = np.cos(angles)
return table
"""

SOLUTION = fill_bodies(STUB, {"sinusoidal_table": BODY})

NAME = "sinusoidal_table"
CASES = (  # (n_positions, d_model, base)
    (1, 2, 10000.0),
    (4, 2, 10000.0),
    (10, 8, 10000.0),
    (50, 6, 10000.0),
    (16, 16, 100.0),
    (64, 32, 10000.0),
)


def reference(n_positions: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """dlf's table (a float64 torch tensor) as a NumPy array."""
    from dlf.transformer.positional import sinusoidal_table

    return sinusoidal_table(n_positions, d_model, base).numpy()


def _mistakes(n: int, d: int, base: float) -> list[Mistake]:
    """Known wrong tables, each built from dlf's own tables."""
    want = reference(n, d, base)
    columns = np.arange(d)
    wide = reference(n, 2 * d, base)  # its pair j has the angle pos * base^(-j / d)
    return [
        Mistake(
            "sin and cos are swapped: the sine goes in the even columns (2i), the cosine in the "
            "odd ones (2i + 1)",
            want[:, columns ^ 1],
        ),
        Mistake(
            "the exponent uses the column index j (pos / base^(j / d_model)): both columns of "
            "pair i share the exponent 2i / d_model, i = j // 2",
            wide[:, 2 * columns + columns % 2],
        ),
        Mistake(
            "the sines and cosines are in two halves: interleave them, sin in column 2i and cos "
            "in column 2i + 1",
            np.concatenate([want[:, 0::2], want[:, 1::2]], axis=1),
        ),
        Mistake(
            "the frequency has the wrong sign in its exponent: pos / base^(2i / d_model) = "
            "pos * base^(-2i / d_model), not pos * base^(2i / d_model)",
            reference(n, d, 1 / base),
        ),
        Mistake(
            "the factor 2 is missing from the exponent: base^(2i / d_model), i the pair index",
            reference(n, d, base**0.5),
        ),
        Mistake("positions start at 0, not 1", reference(n + 1, d, base)[1:]),
        Mistake(
            "every pair has the frequency 1: 2i // d_model (integer division) is 0; use /",
            reference(n, d, 1.0),
        ),
    ]


def grade(g: Grader) -> None:
    table = g.function(NAME)
    g.no_loops(table)
    for n, d, base in CASES:
        with g.case(f"n_positions={n}, d_model={d}, base={base:g}"):
            got = g.call(table, n, d, base)
            g.close(NAME, got, reference(n, d, base), mistakes=_mistakes(n, d, base))
    with g.case("n_positions=5, d_model=4, default base"):
        got = g.call(table, 5, 4)
        g.close(f"{NAME} (base=10000 by default)", got, reference(5, 4))
        if isinstance(got, np.ndarray):
            g.check(
                f"{NAME} is float64",
                got.dtype == np.float64,
                f"got {got.dtype}",
                "keep NumPy's default float64: no astype or dtype=np.float32",
            )
        else:
            g.same_dtype(NAME, got, np.float64)  # names a list or a tensor


EXERCISE = Exercise(
    name="positional-encoding",
    module=3,
    number=4,
    title="The sinusoidal positional encoding",
    concept="Positional encodings: sinusoidal, learned, rotary",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "There are d_model / 2 frequencies, one per pair of columns: 1 / base^(2i / d_model) "
        "for i = 0 .. d_model/2 - 1, i.e. np.arange(0, d_model, 2) / d_model in the exponent.",
        "Broadcast: positions as a column, np.arange(n_positions)[:, None], divided by the row "
        "base ** (np.arange(0, d_model, 2) / d_model) gives the (n_positions, d_model/2) angles.",
        "Interleave with strided slices of an empty (n_positions, d_model) table: "
        "table[:, 0::2] = np.sin(angles) and table[:, 1::2] = np.cos(angles).",
    ),
)
