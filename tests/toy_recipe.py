"""A tiny recipe for testing the machinery: gradient descent on f(w) = w^2."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dlf.recipes import Recipe
from dlf.runs import RunDir, line_plot


@dataclass
class ToyConfig:
    steps: int = 20
    lr: float = 0.1
    hidden: tuple[int, ...] = (4, 2)
    sleep: float = 0.0
    dataset: str | None = None
    use_bias: bool = True


def run(config: ToyConfig, run_dir: RunDir) -> dict:
    w = 1.0
    for step in run_dir.progress(range(config.steps), total=config.steps, desc="toy"):
        w -= config.lr * 2 * w
        run_dir.log(step, loss=w * w)
        time.sleep(config.sleep)
    run_dir.figure("loss", line_plot({"loss": run_dir.series("loss")}, "step", "loss"))
    return {"final_loss": w * w}


RECIPE = Recipe(
    "toy",
    0,
    "gradient descent on w^2 (tests only)",
    ToyConfig,
    run,
    quick={"steps": 3},
    settings={"fast": {"steps": 5, "lr": 0.3}},
    datasets=lambda c: (c.dataset,) if c.dataset else (),
)
