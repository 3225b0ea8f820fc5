"""Divergence: a loss that became NaN or infinite ends the run with status "diverged"."""

from __future__ import annotations

import math


class Diverged(RuntimeError):
    """Training met a non-finite value. ``dlf run`` closes the run folder with status
    "diverged", keeps the last good weights the recipe saved, prints this one-line message and
    exits 1.
    """


def check_finite(value: float, step: int, what: str = "loss", advice: str = "") -> float:
    """``value`` if it is finite, else raise Diverged naming ``what``, the step and the advice.

    Example: ``check_finite(nan, 120, advice="try a lower lr")`` ->
    ``Diverged("the loss became nan at step 120; try a lower lr")``.
    """
    value = float(value)
    if math.isfinite(value):
        return value
    tail = f"; {advice}" if advice else "; try a lower learning rate"
    raise Diverged(f"the {what} became {value} at step {step}{tail}")
