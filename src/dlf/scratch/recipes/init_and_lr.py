"""Recipe ``init-and-lr``: initialisation, a learning-rate range test and the debugging checks.

Three parts, each a habit of the path (CS231n "Neural Networks 2/3"; Karpathy, "A recipe for
training neural networks"):

1. Activations and gradients of a deep net (``hidden_layers`` tanh or ReLU layers) under each
   initialisation, on one batch of MNIST. With ``Var(h_l) ~ fan_in * Var(W) * Var(h_{l-1})``
   (times 1/2 after a ReLU) the scale of the signal is multiplied by the same factor at every
   layer: below 1 it collapses to zero (small normal), above 1 it explodes (N(0, 1), "large")
   or saturates tanh; Xavier (Var(W) = 2/(fan_in+fan_out)) keeps tanh near 1, He (2/fan_in)
   keeps ReLU there. The same factor multiplies the gradients on the way back.
2. A learning-rate range test (Smith, 2017): one pass of SGD with momentum whose rate grows
   exponentially, ``lr_t = lr_min * (lr_max / lr_min)^(t / (T-1))``, records the loss against
   lr; the loss falls, flattens and then blows up. The suggested rate is a tenth of the rate at
   the lowest (smoothed) loss; short runs at suggestion/10, suggestion and 10 x suggestion check it.
3. Checks before any long run, each printing a verdict:
   - the loss at initialisation is about ln(classes) (a uniform guess over C classes);
   - a tiny batch can be over-fitted to near-zero loss (the model and its backward can learn);
   - one update changes each weight matrix by about 1e-3 of its norm (||dW|| / ||W||).

All training goes through :func:`dlf.scratch.trainer.fit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlf.recipes import Recipe
from dlf.runs import RunDir, line_plot, new_figure
from dlf.scratch.init import small_normal
from dlf.scratch.layers import Linear, Sequential
from dlf.scratch.losses import softmax_cross_entropy
from dlf.scratch.mlp import ACTIVATIONS, mlp
from dlf.scratch.optim import Adam, Momentum
from dlf.scratch.recipes.mnist_data import mnist_splits
from dlf.scratch.trainer import evaluate, fit

INIT_LABELS = {
    "small": "small normal N(0, 0.01^2)",
    "xavier": "Xavier N(0, 2/(in+out))",
    "he": "He N(0, 2/in)",
    "large": "large normal N(0, 1)",
}


@dataclass
class InitAndLRConfig:
    # part 1: activation and gradient statistics of a deep net
    hidden_layers: int = 10
    width: int = 256
    activations: tuple[str, ...] = ("tanh", "relu")
    inits: tuple[str, ...] = ("small", "xavier", "he", "large")  # "large" = N(0, large_std^2)
    large_std: float = 1.0
    hist_batch: int = 1000
    # part 2: learning-rate range test on an MLP
    sizes: tuple[int, ...] = (784, 256, 128, 10)
    lr_min: float = 1e-4
    lr_max: float = 10.0
    range_steps: int = 300
    batch_size: int = 128
    momentum: float = 0.9
    last_layer_scale: float = 0.1  # the output layer's He weights times this (see classifier)
    verify_epochs: int = 1
    train_subset: int = 0  # 0 = all 54,000 training images for the verification runs
    val_subset: int = 0  # 0 = all 6,000 validation images
    # part 3: checks
    init_loss_tolerance: float = 0.1  # |L0 - ln C| <= tolerance * ln C
    overfit_samples: int = 20
    overfit_epochs: int = 200
    overfit_lr: float = 1e-3
    overfit_target: float = 0.01
    ratio_low: float = 1e-4  # the 1e-3 rule of thumb, with a factor of 10 either way
    ratio_high: float = 1e-2
    seed: int = 0


@dataclass(frozen=True)
class ExponentialRange:
    """The range test's schedule: ``lr(t) = lr_min * (lr_max / lr_min) ** (t / (steps - 1))``.

    Grows by the same factor each step, from ``lr_min`` at t = 0 to ``lr_max`` at t = steps - 1
    (held there after). Example: ``ExponentialRange(1e-3, 1.0, 4)`` gives 1e-3, 1e-2, 1e-1, 1.0.
    """

    lr_min: float
    lr_max: float
    steps: int

    def __call__(self, t: int) -> float:
        frac = min(t, self.steps - 1) / max(self.steps - 1, 1)
        return self.lr_min * (self.lr_max / self.lr_min) ** frac


def smooth(values: list[float], beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction: ``m_t = beta m_{t-1} + (1-beta) v_t``,
    returned as ``m_t / (1 - beta^(t+1))`` (so the first value is ``v_0`` itself).

    Example: ``smooth([1.0, 1.0, 4.0], beta=0.5)`` -> ``[1.0, 1.0, 2.714]``.
    """
    out, m = np.empty(len(values)), 0.0
    for t, v in enumerate(values):
        m = beta * m + (1 - beta) * v
        out[t] = m / (1 - beta ** (t + 1))
    return out


def suggest_lr(lrs: np.ndarray, smoothed: np.ndarray, blowup: float = 4.0) -> dict[str, float]:
    """Read a range test: ``lr_at_min`` (lowest smoothed loss), ``suggested = lr_at_min / 10``,
    and ``steepest``, the lr where the smoothed loss falls fastest per unit of ``log lr``.

    Only the part before the loss first exceeds ``blowup`` times its minimum so far counts.
    Shapes: ``lrs`` (T,), ``smoothed`` (T,). Example: for a loss falling until lr = 0.5 and
    rising after, ``lr_at_min`` = 0.5 and ``suggested`` = 0.05.
    """
    best = np.minimum.accumulate(smoothed)
    over = np.nonzero(~np.isfinite(smoothed) | (smoothed > blowup * best))[0]
    end = int(over[0]) if len(over) else len(smoothed)
    lrs, smoothed = lrs[:end], smoothed[:end]
    i_min = int(np.argmin(smoothed))
    skip = len(smoothed) // 10  # the first smoothed values are still mostly single batches
    if i_min - skip > 1:
        slope = np.gradient(smoothed[skip : i_min + 1], np.log(lrs[skip : i_min + 1]))
        steepest = float(lrs[skip + int(np.argmin(slope))])
    else:
        steepest = float(lrs[i_min])
    lr_at_min = float(lrs[i_min])
    return {"lr_at_min": lr_at_min, "suggested": lr_at_min / 10, "steepest": steepest}


def deep_net(config: InitAndLRConfig, activation: str, init: str, rng) -> Sequential:
    """``hidden_layers`` layers of ``width`` units, 784 -> ... -> 10, weights by scheme ``init``.

    ``init`` is a name of :func:`dlf.scratch.init.init_weight`, or ``"large"``: N(0, large_std^2).
    """
    sizes = (784, *([config.width] * config.hidden_layers), 10)
    if init != "large":
        return mlp(sizes, activation, init=init, rng=rng)
    model = mlp(sizes, activation, init="small", rng=rng)
    for layer in model.layers:
        if isinstance(layer, Linear):
            W = layer.params["W"]
            W[...] = small_normal(W.shape, std=config.large_std, rng=rng)
    return model


def classifier(config: InitAndLRConfig, last_layer_scale: float | None = None) -> Sequential:
    """The MLP of parts 2 and 3: ``mlp(config.sizes)``, ReLU, He init, the last layer's weights
    multiplied by ``last_layer_scale`` (default ``config.last_layer_scale``).

    He init gives logits of std about 1 at random, a loss well above ln(classes); scaling the
    last layer down makes the first prediction nearly uniform, as it should be.
    """
    model = mlp(config.sizes, "relu", init="he", rng=np.random.default_rng(config.seed))
    scale = config.last_layer_scale if last_layer_scale is None else last_layer_scale
    model.layers[-1].params["W"] *= scale
    return model


def update_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """``||after - before|| / ||before||`` (Frobenius norms): the relative size of an update.

    Example: ``update_ratio(np.ones(4), np.ones(4) * 1.001)`` -> 0.001.
    """
    return float(np.linalg.norm(after - before) / np.linalg.norm(before))


def layer_statistics(
    model: Sequential, x: np.ndarray, y: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Outputs ``h_l`` of every activation layer, the gradients ``dL/dh_l``, and the loss.

    One forward pass layer by layer (keeping each activation's output) and one backward pass of
    the softmax cross-entropy (keeping the gradient that arrives at each activation's output).
    Shapes: ``x`` (N, 784), ``y`` (N,) -> two lists of (N, width) arrays, input side first.
    """
    is_act = [isinstance(layer, tuple(ACTIVATIONS.values())) for layer in model.layers]
    acts, grads = [], []
    h = x
    for layer, act in zip(model.layers, is_act, strict=True):
        h = layer.forward(h)
        if act:
            acts.append(h)
    loss, dout = softmax_cross_entropy(h, y)
    for layer, act in zip(reversed(model.layers), reversed(is_act), strict=True):
        if act:
            grads.append(dout)
        dout = layer.backward(dout)
    return acts, grads[::-1], loss


def scale_verdict(first: float, last: float, what: str) -> str:
    """``collapses`` / ``explodes`` / ``keeps its scale``: the ratio ``last / first`` of a std.

    Example: ``scale_verdict(1.0, 1e-6, "activations")`` -> ``"activations collapse (x1e-06)"``.
    """
    ratio = last / first if first > 0 else math.inf
    if ratio < 0.1:
        return f"{what} collapse (x{ratio:.0e})"
    if ratio > 10:
        return f"{what} explode (x{ratio:.0e})"
    return f"{what} keep their scale (x{ratio:.2g})"


def _histograms(run_dir, name, title, rows, labels):
    """Per-layer histograms as ridgelines: one panel per (row, init), layer 1 at the bottom.

    ``rows`` maps a row title ("activations h_l") to ``{init: [array per layer]}``. Each panel
    shares one x-range over its layers, so a collapsing signal shows as a spike at 0 growing
    thinner layer by layer. Exact zeros (ReLU's inactive units) are left out, or their spike
    would flatten the rest. One filled outline per layer keeps the drawing fast.
    """
    inits = list(next(iter(rows.values())))
    fig, axes = new_figure(len(inits), len(rows), size=(2.6, 3.2))
    for r, (row_title, per_init) in enumerate(rows.items()):
        for c, init in enumerate(inits):
            ax, values = axes[r, c], per_init[init]
            lim = max(float(np.abs(v).max()) for v in values) or 1.0
            for layer, v in enumerate(values, start=1):
                counts, edges = np.histogram(v[v != 0], bins=60, range=(-lim, lim))
                height = 0.9 * counts / max(counts.max(), 1)
                ax.stairs(height + layer, edges, baseline=layer, fill=True, alpha=0.8)
            ax.set_yticks(range(1, len(values) + 1), [f"L{i}" for i in range(1, len(values) + 1)])
            ax.tick_params(labelsize=6)
            ax.locator_params(axis="x", nbins=3)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.set_title(f"{row_title}\n{labels[init]}", fontsize=7)
            ax.set_xlim(-lim, lim)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    run_dir.figure(name, fig, caption=title + ": each panel on one shared x-range, exact "
                   "zeros (inactive ReLUs) left out; the std of every layer is in the table and "
                   "the std plot.")  # fmt: skip


def run(config: InitAndLRConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    data = mnist_splits(0.1, config.train_subset, config.val_subset, seed=config.seed)
    mean, std = float(data.x_train.mean()), float(data.x_train.std())
    x_tr, y_tr = (data.x_train - mean) / std, data.y_train  # standardised pixels
    x_va, y_va = (data.x_val - mean) / std, data.y_val
    n_classes = 10
    summary: dict = {}

    # ---- 1. activations and gradients under each initialisation ----
    xb, yb = x_tr[: config.hist_batch], y_tr[: config.hist_batch]
    rows, verdicts = [], []
    for activation in config.activations:
        acts_by_init, grads_by_init, std_series, grad_series = {}, {}, {}, {}
        for init in config.inits:
            model = deep_net(config, activation, init, np.random.default_rng(config.seed))
            acts, grads, loss = layer_statistics(model, xb, yb)
            acts_by_init[init], grads_by_init[init] = acts, grads
            a_std = [float(a.std()) for a in acts]
            g_std = [float(g.std()) for g in grads]
            layers = list(range(1, len(acts) + 1))
            std_series[f"{activation}, {init}"] = (layers, a_std)
            grad_series[f"{activation}, {init}"] = (layers, g_std)
            if activation == "tanh":
                special = f"{np.mean(np.abs(acts[-1]) > 0.99):.0%} saturated (|h|>0.99)"
            else:
                special = f"{np.mean(acts[-1] <= 0):.0%} zero (inactive)"
            a_verdict = scale_verdict(a_std[0], a_std[-1], "activations")
            g_verdict = scale_verdict(g_std[-1], g_std[0], "gradients")  # backward: last -> first
            rows.append([activation, INIT_LABELS.get(init, init), f"{a_std[0]:.2e}",
                         f"{a_std[-1]:.2e}", special, f"{g_std[-1]:.2e}", f"{g_std[0]:.2e}",
                         f"{loss:.3g}", f"{a_verdict}; {g_verdict}"])  # fmt: skip
            verdicts.append(f"{activation:4s} {init:6s}: {a_verdict}; {g_verdict}")
            summary[f"act_ratio_{activation}_{init}"] = a_std[-1] / a_std[0]
            summary[f"grad_ratio_{activation}_{init}"] = g_std[0] / g_std[-1]
            run_dir.log(0, activation=activation, init=init, act_std=a_std, grad_std=g_std)
        labels = {i: INIT_LABELS.get(i, i) for i in config.inits}
        _histograms(run_dir, f"histograms_{activation}",
                    f"{activation}: {config.hidden_layers} layers under each initialisation",
                    {"activations h_l": acts_by_init, "gradients dL/dh_l": grads_by_init},
                    labels)  # fmt: skip
        fig = line_plot({**{f"h_l, {k}": v for k, v in std_series.items()},
                         **{f"dL/dh_l, {k}": v for k, v in grad_series.items()}},
                        "layer", "std", f"{activation}: std of h_l (solid) and dL/dh_l (dashed)",
                        logy=True)  # fmt: skip
        lines = fig.axes[0].lines
        for solid, dashed in zip(lines[: len(lines) // 2], lines[len(lines) // 2 :], strict=True):
            dashed.set_color(solid.get_color())
            dashed.set_linestyle("--")
        fig.axes[0].legend(fontsize="x-small", ncol=2)
        run_dir.figure(
            f"std_{activation}",
            fig,
            caption="Flat lines: the scale survives the depth. Falling: collapse; rising: "
            "explosion. Gradients flow from the last layer back to the first.",
        )
    run_dir.table(
        f"Activations and gradients of a {config.hidden_layers}-layer net, width {config.width} "
        f"(one batch of {len(xb)} MNIST images)",
        ["activation", "init", "std h_1", f"std h_{config.hidden_layers}", "last layer",
         f"std dL/dh_{config.hidden_layers}", "std dL/dh_1", "loss", "verdict"],
        rows,
    )  # fmt: skip
    run_dir.text("Initialisation verdicts", "\n".join(verdicts), pre=True)

    # ---- 2. learning-rate range test (one pass, exponentially growing lr) ----
    n_range = config.range_steps * config.batch_size
    pick = rng.choice(len(x_tr), size=n_range, replace=n_range > len(x_tr))
    schedule = ExponentialRange(config.lr_min, config.lr_max, config.range_steps)
    run_dir.say(f"lr range test: {config.range_steps} steps, lr {config.lr_min:g} -> "
                f"{config.lr_max:g}")  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore"):  # the test runs until the loss blows up
        hist = fit(classifier(config), softmax_cross_entropy,
                   Momentum(config.lr_min, config.momentum), x_tr[pick], y_tr[pick], epochs=1,
                   batch_size=config.batch_size, schedule=schedule,
                   rng=np.random.default_rng(config.seed))  # fmt: skip
    losses = hist.batch_loss
    lrs = np.array([schedule(t) for t in range(len(losses))])
    smoothed = smooth(losses)
    lr_pick = suggest_lr(lrs, smoothed)
    for t, (lr, loss, s) in enumerate(zip(lrs, losses, smoothed, strict=True)):
        run_dir.log(t, range_lr=float(lr), range_loss=loss, range_smoothed=float(s))
    fig = line_plot({"batch loss": (lrs, losses), "smoothed": (lrs, smoothed)}, "learning rate",
                    "training loss", "Learning-rate range test", logx=True)  # fmt: skip
    ax = fig.axes[0]
    ax.set_ylim(0, max(3.0, 1.5 * float(np.nanmax(smoothed[: len(smoothed) // 2]))))
    for key, style in (("suggested", "--"), ("lr_at_min", ":"), ("steepest", "-.")):
        ax.axvline(lr_pick[key], color="k", linestyle=style, label=f"{key} {lr_pick[key]:.3g}")
    ax.legend(fontsize="small")
    run_dir.figure("lr_range", fig, caption=f"SGD with momentum {config.momentum}, batch "
                   f"{config.batch_size}, MLP {config.sizes}; a non-finite loss ends the test "
                   f"(diverged: {hist.diverged}).")  # fmt: skip
    summary.update(
        {
            "lr_suggested": lr_pick["suggested"],
            "lr_at_min_loss": lr_pick["lr_at_min"],
            "lr_steepest": lr_pick["steepest"],
            "range_diverged": hist.diverged,
        }
    )

    # Short runs at three rates; after each, one more step measures ||dW|| / ||W|| per layer.
    verify_rows, curves, ratio_cols = [], {}, {}
    probe = rng.choice(len(x_tr), size=config.batch_size, replace=False)
    for label, lr in (("suggested / 10", lr_pick["suggested"] / 10),
                      ("suggested", lr_pick["suggested"]),
                      ("10 x suggested", lr_pick["suggested"] * 10)):  # fmt: skip
        run_dir.say(f"lr {lr:.3g} ({label}): {config.verify_epochs} epoch(s)")
        model, opt = classifier(config), Momentum(lr, config.momentum)
        with np.errstate(over="ignore", invalid="ignore"):  # 10 x may diverge: that is the point
            h = fit(model, softmax_cross_entropy, opt, x_tr, y_tr, x_va, y_va,
                    epochs=config.verify_epochs, batch_size=config.batch_size,
                    rng=np.random.default_rng(config.seed), run_dir=run_dir,
                    tags={"lr_run": label})  # fmt: skip
        before = {k: p.copy() for k, p in model.params.items() if p.ndim == 2}
        if not h.diverged:  # one more step, momentum state kept
            fit(model, softmax_cross_entropy, opt, x_tr[probe], y_tr[probe], epochs=1,
                batch_size=config.batch_size)  # fmt: skip
        ratio_cols[label] = {
            k: math.nan if h.diverged else update_ratio(before[k], model.params[k]) for k in before
        }
        curves[f"lr {lr:.3g} ({label})"] = (np.arange(1, len(h.batch_loss) + 1),
                                             smooth(h.batch_loss, 0.9))  # fmt: skip
        val_acc = h.val_acc[-1] if h.val_acc else math.nan
        verify_rows.append([label, f"{lr:.3g}", f"{h.train_loss[-1]:.4f}" if h.train_loss
                            else "diverged", f"{val_acc:.4f}", h.diverged])  # fmt: skip
        summary[f"val_acc_lr_{label.replace(' ', '').replace('/', '_div_')}"] = val_acc
    run_dir.figure(
        "lr_runs",
        line_plot(
            curves,
            "iteration",
            "training loss (smoothed)",
            "Training at three learning rates",
            logy=True,
        ),
        caption="Same model, seed and batches; only the learning rate differs.",
    )
    run_dir.table(
        "Learning-rate range test, and short runs at three rates",
        ["run", "lr", "train loss (last epoch)", "val accuracy", "diverged"],
        [["range test: lr at lowest smoothed loss", f"{lr_pick['lr_at_min']:.3g}", "", "", ""],
         ["range test: steepest descent", f"{lr_pick['steepest']:.3g}", "", "", ""],
         *verify_rows],
    )  # fmt: skip

    # ---- 3. the checks ----
    checks = []
    ln_c = math.log(n_classes)
    loss0, _ = evaluate(classifier(config), x_va, y_va)
    loss0_he, _ = evaluate(classifier(config, last_layer_scale=1.0), x_va, y_va)
    ok = abs(loss0 - ln_c) <= config.init_loss_tolerance * ln_c
    checks.append(["loss at initialisation = ln(classes)",
                   f"{loss0:.4f} vs ln {n_classes} = {ln_c:.4f} (within "
                   f"{config.init_loss_tolerance:.0%}?); with the last layer not scaled down "
                   f"(He throughout): {loss0_he:.4f}", ok])  # fmt: skip
    summary.update({"loss_at_init": loss0, "loss_at_init_unscaled": loss0_he, "ln_classes": ln_c,
                    "check_loss_at_init": ok})  # fmt: skip

    per_class = -(-config.overfit_samples // n_classes)
    few = np.concatenate([np.nonzero(y_tr == c)[0][:per_class]
                          for c in range(n_classes)])[: config.overfit_samples]  # fmt: skip
    tiny = classifier(config)
    h = fit(tiny, softmax_cross_entropy, Adam(config.overfit_lr), x_tr[few], y_tr[few],
            epochs=config.overfit_epochs, batch_size=len(few),
            rng=np.random.default_rng(config.seed))  # fmt: skip
    tiny_loss, tiny_acc = evaluate(tiny, x_tr[few], y_tr[few])
    ok = tiny_loss < config.overfit_target
    checks.append([f"a tiny batch ({len(few)} images) over-fitted",
                   f"loss {tiny_loss:.2e} after {config.overfit_epochs} Adam steps (target < "
                   f"{config.overfit_target:g}), accuracy {tiny_acc:.0%}", ok])  # fmt: skip
    summary.update({"overfit_loss": tiny_loss, "overfit_accuracy": tiny_acc, "check_overfit": ok})
    for t, loss in enumerate(h.batch_loss):
        run_dir.log(t, overfit_loss=loss)
    run_dir.figure("overfit", line_plot({"loss": (list(range(1, len(h.batch_loss) + 1)),
                                                  h.batch_loss)}, "step", "training loss",
                                        f"Over-fitting {len(few)} images", logy=True),
                   caption="A model that cannot drive this to ~0 has a bug in its forward, "
                   "backward or update.")  # fmt: skip

    ratios = ratio_cols["suggested"]
    ok = all(config.ratio_low <= r <= config.ratio_high for r in ratios.values())
    checks.append([f"update / weight ratio ~ 1e-3 per layer (lr {lr_pick['suggested']:.3g}, "
                   f"after {config.verify_epochs} epoch(s))",
                   ", ".join(f"{k} {r:.1e}" for k, r in ratios.items()) +
                   f" (all in [{config.ratio_low:g}, {config.ratio_high:g}]?)", ok])  # fmt: skip
    summary.update(
        {
            "update_ratio_min": min(ratios.values()),
            "update_ratio_max": max(ratios.values()),
            "check_update_ratio": ok,
        }
    )
    run_dir.table(
        "Update-to-weight ratio ||dW|| / ||W|| of one step (SGD with momentum), after the runs",
        ["parameter", *(f"lr {lab}" for lab in ratio_cols)],
        [[k, *(f"{col[k]:.2e}" for col in ratio_cols.values())] for k in ratios],
    )  # fmt: skip
    run_dir.table("Debugging checks", ["check", "measured", "pass"], checks)
    lines = [f"{'PASS' if ok else 'FAIL'}  {name}: {measured}" for name, measured, ok in checks]
    for line in lines:
        run_dir.say(line)
    run_dir.text("Verdicts", "\n".join(lines), pre=True)
    run_dir.text(
        "What this shows",
        "Initialisation sets the factor by which each layer scales its input: with small normal "
        "weights the activations and the gradients shrink layer after layer until the deep "
        "layers see (and send back) nothing; with N(0, 1) a ReLU net's signal grows by orders "
        "of magnitude and tanh units saturate at +-1, where their gradient vanishes. Xavier keeps "
        "a tanh net's scale and He a ReLU net's (Xavier under ReLU still halves the variance at "
        "every layer). The range test finds the rates at which the loss falls at all and where "
        "it blows up; a tenth of the rate at the lowest smoothed loss trains well (the moving "
        "average lags the batch losses, which moves the minimum to the right: one more reason "
        "for the factor of ten), and ten times that diverges or stalls. The checks take seconds "
        "and catch the commonest bugs before a long run: a wrong loss or over-confident output "
        "layer (loss at init), a broken backward or update (cannot over-fit 20 images), and a "
        "learning rate far off (update-to-weight ratios far from 1e-3).",
    )
    summary["checks_passed"] = sum(ok for *_, ok in checks)
    summary["checks_total"] = len(checks)
    return summary


RECIPE = Recipe(
    name="init-and-lr",
    module=1,
    description="activations under each init, a learning-rate range test, the debugging checks",
    config=InitAndLRConfig,
    run=run,
    quick={
        "width": 64,
        "hist_batch": 200,
        "range_steps": 80,
        "batch_size": 64,
        "train_subset": 2000,
        "val_subset": 1000,
        "overfit_epochs": 100,
        "overfit_lr": 3e-3,
    },
    datasets=lambda c: ("mnist",),
    durations={"quick": 11.6, "full": 155.7},  # measured at load average ~12 on 2 cores
)
