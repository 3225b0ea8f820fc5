"""Schedules: equal to torch.optim.lr_scheduler's counterparts step by step."""

import math

import pytest
import torch

from dlf.scratch.schedules import CosineAnnealing, LinearWarmup, StepDecay


def torch_lrs(make_scheduler, lr: float, steps: int) -> list[float]:
    """The lr torch's scheduler gives at t = 0 .. steps-1."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for t, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"t={t}: {a} != {b}"


@pytest.mark.parametrize("lr, step_size, gamma", [(0.1, 3, 0.5), (1.0, 1, 0.9), (0.3, 7, 0.1)])
def test_step_decay(lr, step_size, gamma):
    ours = [StepDecay(lr, step_size, gamma)(t) for t in range(25)]
    lrs = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), lr, 25)
    assert_same(ours, lrs)


@pytest.mark.parametrize("lr, total, min_lr", [(0.1, 10, 0.0), (1.0, 17, 0.05), (0.5, 1, 0.1)])
def test_cosine(lr, total, min_lr):
    ours = [CosineAnnealing(lr, total, min_lr)(t) for t in range(total + 1)]
    lrs = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=min_lr),
        lr,
        total + 1,
    )
    assert_same(ours, lrs)
    assert CosineAnnealing(lr, total, min_lr)(total + 5) == pytest.approx(min_lr)


@pytest.mark.parametrize("warmup, start_factor", [(5, 0.1), (1, 0.5), (8, 1 / 8)])
@pytest.mark.parametrize("after", ["cosine", "step"])
def test_warmup_then_schedule(warmup, start_factor, after):
    lr, steps = 0.2, 30
    sched = torch.optim.lr_scheduler
    if after == "cosine":
        ours_after = CosineAnnealing(lr, steps - warmup, min_lr=0.01)

        def theirs_after(o):
            return sched.CosineAnnealingLR(o, T_max=steps - warmup, eta_min=0.01)
    else:
        ours_after = StepDecay(lr, 4, 0.5)

        def theirs_after(o):
            return sched.StepLR(o, 4, 0.5)

    ours = [LinearWarmup(ours_after, warmup, start_factor)(t) for t in range(steps)]

    def make(o):
        warm = sched.LinearLR(o, start_factor=start_factor, end_factor=1.0, total_iters=warmup)
        return sched.SequentialLR(o, [warm, theirs_after(o)], milestones=[warmup])

    assert_same(ours, torch_lrs(make, lr, steps))


def test_warmup_from_zero_rises_linearly():
    s = LinearWarmup(CosineAnnealing(1.0, 10), warmup=4)
    assert [s(t) for t in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: StepDecay(0.1, 0),
        lambda: CosineAnnealing(0.1, 0),
        lambda: LinearWarmup(StepDecay(0.1, 1), 0),
    ],
)
def test_bad_arguments_are_errors(make):
    with pytest.raises(ValueError, match="must be"):
        make()
