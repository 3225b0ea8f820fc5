"""The training loop: loss falls, schedules are applied, early stopping restores the best epoch."""

import json

import numpy as np
import pytest

from dlf.data import spirals
from dlf.runs import RunDir
from dlf.scratch import (
    SGD,
    Adam,
    Linear,
    Sequential,
    StepDecay,
    evaluate,
    fit,
    mlp,
    mse,
    softmax_cross_entropy,
    state_dict,
    steps_per_epoch,
)


def spiral_data(seed=0):
    x, y = spirals(60, classes=3, seed=seed)
    return x.astype(np.float32), y


def overfit_setup(seed=0):
    """A wide net on 30 points whose validation labels are noise: val loss rises after a while."""
    rng = np.random.default_rng(seed)
    x_tr, y_tr = rng.standard_normal((30, 4)).astype(np.float32), rng.integers(0, 3, 30)
    x_va, y_va = rng.standard_normal((30, 4)).astype(np.float32), rng.integers(0, 3, 30)
    model = mlp((4, 64, 3), rng=np.random.default_rng(seed))
    return model, (x_tr, y_tr, x_va, y_va)


@pytest.mark.parametrize("optimizer", [SGD(0.5, momentum=0.9), Adam(0.01)])
def test_loss_falls_on_spirals(optimizer):
    x, y = spiral_data()
    model = mlp((2, 32, 3), rng=np.random.default_rng(0))
    loss0, _ = evaluate(model, x, y)
    history = fit(model, softmax_cross_entropy, optimizer, x, y, x, y, epochs=40, batch_size=32)
    assert history.epoch == list(range(1, 41))
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_loss[-1] < 0.4 * loss0
    assert history.val_acc[-1] > 0.9
    assert len(history.batch_loss) == 40 * steps_per_epoch(180, 32)


def test_same_seed_same_run_different_seed_different_batches():
    x, y = spiral_data()
    runs = []
    for seed in (0, 0, 1):
        model = mlp((2, 16, 3), rng=np.random.default_rng(0))
        fit(
            model,
            softmax_cross_entropy,
            SGD(0.1),
            x,
            y,
            epochs=2,
            batch_size=16,
            rng=np.random.default_rng(seed),
        )
        runs.append(model.params["0.W"].copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_early_stopping_restores_the_best_epoch():
    model, data = overfit_setup()
    history = fit(
        model, softmax_cross_entropy, Adam(0.02), *data, epochs=60, batch_size=10, patience=3
    )
    assert history.stopped_early and history.restored_best
    best = history.best_epoch
    assert history.epochs_run == best + 3
    assert history.val_loss[best - 1] == min(history.val_loss)
    # the model holds exactly the weights of a run stopped by hand after the best epoch
    again, _ = overfit_setup()
    fit(again, softmax_cross_entropy, Adam(0.02), *data, epochs=best, batch_size=10)
    for k, v in state_dict(again).items():
        np.testing.assert_array_equal(model.params[k], v)
    assert evaluate(model, data[2], data[3])[0] == pytest.approx(history.best_val_loss, rel=1e-6)


def test_without_patience_the_last_weights_stay():
    model, data = overfit_setup()
    history = fit(model, softmax_cross_entropy, Adam(0.02), *data, epochs=15, batch_size=10)
    assert not history.restored_best and not history.stopped_early
    assert evaluate(model, data[2], data[3])[0] == pytest.approx(history.val_loss[-1], rel=1e-6)


@pytest.mark.parametrize("unit", ["iteration", "epoch"])
def test_schedule_sets_the_learning_rate(unit):
    x, y = spiral_data()
    schedule = StepDecay(0.2, step_size=3, gamma=0.5)
    seen = []

    class Recording(SGD):
        def step(self, params, grads):
            seen.append(self.lr)
            super().step(params, grads)

    model = mlp((2, 8, 3), rng=np.random.default_rng(0))
    history = fit(
        model,
        softmax_cross_entropy,
        Recording(1.0),
        x,
        y,
        epochs=4,
        batch_size=60,
        schedule=schedule,
        schedule_unit=unit,
    )
    steps = steps_per_epoch(len(x), 60)  # 3 a epoch
    t = range(4 * steps) if unit == "iteration" else [e for e in range(4) for _ in range(steps)]
    assert seen == [schedule(i) for i in t]
    assert history.lr == [seen[(e + 1) * steps - 1] for e in range(4)]


def test_zero_learning_rate_schedule_leaves_weights_unchanged():
    x, y = spiral_data()
    model = mlp((2, 8, 3), rng=np.random.default_rng(0))
    before = state_dict(model)
    fit(model, softmax_cross_entropy, SGD(0.5), x, y, epochs=2, schedule=lambda t: 0.0)
    for k, v in before.items():
        np.testing.assert_array_equal(model.params[k], v)


def test_weight_decay_is_the_l2_gradient():
    """fit(weight_decay=lam) with SGD equals SGD's own decay when every parameter is a matrix."""
    x, y = spiral_data()
    finals = []
    for opt, lam in [(SGD(0.1), 0.05), (SGD(0.1, weight_decay=0.05), 0.0)]:
        model = Sequential(Linear(2, 3, bias=False, dtype=np.float64, rng=np.random.default_rng(0)))
        fit(
            model,
            softmax_cross_entropy,
            opt,
            x.astype(np.float64),
            y,
            epochs=3,
            batch_size=20,
            weight_decay=lam,
        )
        finals.append(model.params["0.W"])
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-12)


def test_regression_targets_with_mse():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 1))
    y = np.sin(3 * x)
    model = mlp((1, 32, 1), "tanh", dtype=np.float64, rng=np.random.default_rng(0))
    history = fit(model, mse, Adam(0.01), x, y, x, y, epochs=60, batch_size=20)
    assert history.val_loss[-1] < 0.1 * history.val_loss[0]
    assert np.isnan(history.val_acc[-1])


def test_metrics_go_to_the_run_dir_with_tags(tmp_path):
    x, y = spiral_data()
    run_dir = RunDir(tmp_path, "test", {}, quiet=True)
    for name in ("a", "b"):
        model = mlp((2, 8, 3), rng=np.random.default_rng(0))
        fit(
            model,
            softmax_cross_entropy,
            SGD(0.1),
            x,
            y,
            x,
            y,
            epochs=3,
            run_dir=run_dir,
            tags={"run": name},
        )
    run_dir.finish({})
    lines = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["run"]) for r in lines] == [(e, n) for n in "ab" for e in (1, 2, 3)]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"} <= set(lines[0])
    assert run_dir.series("val_acc", where={"run": "b"})[0] == [1, 2, 3]


def test_divergence_stops_training_and_keeps_the_last_good_weights():
    from dlf.runs import Diverged

    x, y = spiral_data()
    model = mlp((2, 8, 3), rng=np.random.default_rng(0))
    start = state_dict(model)
    history = fit(model, softmax_cross_entropy, SGD(1e30), x, y, epochs=5, batch_size=30)
    assert history.diverged and history.epochs_run < 5
    assert not np.isfinite(history.diverged_loss) and history.diverged_step >= 1
    # diverged within the first epoch: the weights it began with are put back
    for k, w in state_dict(model).items():
        np.testing.assert_array_equal(w, start[k])
    with pytest.raises(Diverged, match=f"at step {history.diverged_step}; try a lower lr"):
        history.raise_if_diverged(advice="try a lower lr")


def test_divergence_with_early_stopping_puts_the_best_epoch_back():
    x, y = spiral_data()
    model = mlp((2, 8, 3), rng=np.random.default_rng(0))
    history = fit(
        model,
        softmax_cross_entropy,
        SGD(0.1),
        x,
        y,
        x,
        y,
        epochs=3,
        batch_size=30,
        patience=3,
        schedule=lambda t: 0.1 if t < 10 else 1e30,  # epoch 2 of 6 steps blows up
    )
    assert history.diverged and history.restored_best and history.best_epoch == 1
    assert all(np.isfinite(w).all() for w in state_dict(model).values())
    assert evaluate(model, x, y)[0] == pytest.approx(history.val_loss[0], rel=1e-5)
    history.diverged = False
    history.raise_if_diverged()  # nothing to raise


def test_bad_arguments_are_explained():
    x, y = spiral_data()
    model = mlp((2, 8, 3), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="validation set"):
        fit(model, softmax_cross_entropy, SGD(0.1), x, y, epochs=1, patience=2)
    with pytest.raises(ValueError, match="rows"):
        fit(model, softmax_cross_entropy, SGD(0.1), x, y[:-1], epochs=1)
    with pytest.raises(ValueError, match="schedule_unit"):
        fit(model, softmax_cross_entropy, SGD(0.1), x, y, epochs=1, schedule_unit="batch")
