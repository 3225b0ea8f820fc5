"""The report of recipe ``init-and-lr``: figures, tables, verdicts and the effects it shows.

Every function here takes what :mod:`dlf.scratch.recipes.init_and_lr` computed and writes it
into the run folder; none of them trains or measures anything.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from dlf.runs import RunDir, line_plot, new_figure

if TYPE_CHECKING:
    from dlf.scratch.recipes.init_and_lr import Check, InitAndLRConfig, InitStats, LRRun, RangeTest

INIT_LABELS = {
    "small": "small normal N(0, 0.01^2)",
    "xavier": "Xavier N(0, 2/(in+out))",
    "he": "He N(0, 2/in)",
    "large": "large normal N(0, 1)",
}

WHAT_THIS_SHOWS = (
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
    "learning rate far off (update-to-weight ratios far from 1e-3)."
)


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


def histograms(run_dir: RunDir, name: str, title: str, rows: dict, labels: dict) -> None:
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
            ticks = range(1, len(values) + 1)
            ax.set_yticks(ticks, [f"L{i}" for i in ticks])
            ax.tick_params(labelsize=6)
            ax.locator_params(axis="x", nbins=3)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.set_title(f"{row_title}\n{labels[init]}", fontsize=7)
            ax.set_xlim(-lim, lim)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    caption = (
        f"{title}: each panel on one shared x-range, exact zeros (inactive ReLUs) left out; the "
        "std of every layer is in the table and the std plot."
    )
    run_dir.figure(name, fig, caption=caption)


def std_figure(run_dir: RunDir, activation: str, stats: list[InitStats]) -> None:
    """The std of ``h_l`` (solid) and of ``dL/dh_l`` (dashed, same colour) against the layer."""
    series = {f"h_l, {activation}, {s.init}": (s.layers, s.act_std) for s in stats}
    series |= {f"dL/dh_l, {activation}, {s.init}": (s.layers, s.grad_std) for s in stats}
    title = f"{activation}: std of h_l (solid) and dL/dh_l (dashed)"
    fig = line_plot(series, "layer", "std", title, logy=True)
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


def report_inits(
    run_dir: RunDir, config: InitAndLRConfig, stats: list[InitStats], batch: int
) -> None:
    """Part 1: histograms and std plots per activation, the table and the verdicts."""
    rows, verdicts = [], []
    labels = {i: INIT_LABELS.get(i, i) for i in config.inits}
    for activation in config.activations:
        mine = [s for s in stats if s.activation == activation]
        histograms(
            run_dir,
            f"histograms_{activation}",
            f"{activation}: {config.hidden_layers} layers under each initialisation",
            {
                "activations h_l": {s.init: s.acts for s in mine},
                "gradients dL/dh_l": {s.init: s.grads for s in mine},
            },
            labels,
        )
        std_figure(run_dir, activation, mine)
    for s in stats:
        a_verdict = scale_verdict(s.act_std[0], s.act_std[-1], "activations")
        g_verdict = scale_verdict(s.grad_std[-1], s.grad_std[0], "gradients")  # last -> first
        rows.append(
            [
                s.activation,
                labels[s.init],
                f"{s.act_std[0]:.2e}",
                f"{s.act_std[-1]:.2e}",
                s.last_layer,
                f"{s.grad_std[-1]:.2e}",
                f"{s.grad_std[0]:.2e}",
                f"{s.loss:.3g}",
                f"{a_verdict}; {g_verdict}",
            ]
        )
        verdicts.append(f"{s.activation:4s} {s.init:6s}: {a_verdict}; {g_verdict}")
    n = config.hidden_layers
    run_dir.table(
        f"Activations and gradients of a {n}-layer net, width {config.width} (one batch of "
        f"{batch} MNIST images)",
        [
            "activation",
            "init",
            "std h_1",
            f"std h_{n}",
            "last layer",
            f"std dL/dh_{n}",
            "std dL/dh_1",
            "loss",
            "verdict",
        ],
        rows,
    )
    run_dir.text("Initialisation verdicts", "\n".join(verdicts), pre=True)


def report_range_test(run_dir: RunDir, config: InitAndLRConfig, test: RangeTest) -> None:
    """Part 2: the loss against the learning rate, with the three rates read off it."""
    curves = {"batch loss": (test.lrs, test.losses), "smoothed": (test.lrs, test.smoothed)}
    fig = line_plot(curves, "learning rate", "training loss", "Learning-rate range test", logx=True)
    ax = fig.axes[0]
    ax.set_ylim(0, max(3.0, 1.5 * float(np.nanmax(test.smoothed[: len(test.smoothed) // 2]))))
    for key, style in (("suggested", "--"), ("lr_at_min", ":"), ("steepest", "-.")):
        ax.axvline(test.pick[key], color="k", linestyle=style, label=f"{key} {test.pick[key]:.3g}")
    ax.legend(fontsize="small")
    run_dir.figure(
        "lr_range",
        fig,
        caption=f"SGD with momentum {config.momentum}, batch {config.batch_size}, MLP "
        f"{config.sizes}; a non-finite loss ends the test (diverged: {test.diverged}).",
    )


def report_lr_runs(run_dir: RunDir, test: RangeTest, runs: dict[str, LRRun]) -> None:
    """The short runs at three rates: their loss curves, a table, and the update ratios."""
    curves = {
        f"lr {r.lr:.3g} ({label})": (np.arange(1, len(r.smoothed) + 1), r.smoothed)
        for label, r in runs.items()
    }
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
    rows = [
        ["range test: lr at lowest smoothed loss", f"{test.pick['lr_at_min']:.3g}", "", "", ""],
        ["range test: steepest descent", f"{test.pick['steepest']:.3g}", "", "", ""],
    ]
    for label, r in runs.items():
        h = r.history
        last = f"{h.train_loss[-1]:.4f}" if h.train_loss else "diverged"
        rows.append([label, f"{r.lr:.3g}", last, f"{r.val_acc:.4f}", h.diverged])
    run_dir.table(
        "Learning-rate range test, and short runs at three rates",
        ["run", "lr", "train loss (last epoch)", "val accuracy", "diverged"],
        rows,
    )
    names = list(runs["suggested"].ratios)
    run_dir.table(
        "Update-to-weight ratio ||dW|| / ||W|| of one step (SGD with momentum), after the runs",
        ["parameter", *(f"lr {label}" for label in runs)],
        [[k, *(f"{r.ratios[k]:.2e}" for r in runs.values())] for k in names],
    )


def report_overfit(run_dir: RunDir, batch_loss: list[float], n: int) -> None:
    """The loss of the tiny-batch over-fitting check, step by step."""
    steps = list(range(1, len(batch_loss) + 1))
    run_dir.figure(
        "overfit",
        line_plot(
            {"loss": (steps, batch_loss)},
            "step",
            "training loss",
            f"Over-fitting {n} images",
            logy=True,
        ),
        caption="A model that cannot drive this to ~0 has a bug in its forward, backward or "
        "update.",
    )


def report_checks(run_dir: RunDir, checks: list[Check]) -> None:
    """Part 3: the debugging checks as a table, as PASS/FAIL lines, and as effects."""
    run_dir.table(
        "Debugging checks",
        ["check", "measured", "pass"],
        [[c.name, c.measured, c.ok] for c in checks],
    )
    lines = [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.measured}" for c in checks]
    for line in lines:
        run_dir.say(line)
    run_dir.text("Verdicts", "\n".join(lines), pre=True)
    for c in checks:
        run_dir.effect(c.name, c.ok, c.measured)


def report_effects(run_dir: RunDir, stats: list[InitStats], runs: dict[str, LRRun]) -> None:
    """What parts 1 and 2 show, each checked: collapse, explosion, the right init, the rate."""
    ratio = {(s.activation, s.init): s.act_std[-1] / s.act_std[0] for s in stats}
    small = [v for (_, init), v in ratio.items() if init == "small"]
    if small:
        run_dir.effect(
            "with small normal weights the activations collapse towards zero layer by layer",
            max(small) < 1e-3,
            f"std of the last layer / first layer: at most {max(small):.0e}",
        )
    if ("relu", "large") in ratio:
        run_dir.effect(
            "with N(0, 1) weights a ReLU net's activations explode",
            ratio["relu", "large"] > 1e3,
            f"std of the last layer / first layer {ratio['relu', 'large']:.0e}",
        )
    kept = {k: v for k, v in ratio.items() if k in (("relu", "he"), ("tanh", "xavier"))}
    if kept:
        run_dir.effect(
            "He init keeps a ReLU net's scale and Xavier a tanh net's (within 10x over the depth)",
            all(0.1 < v < 10 for v in kept.values()),
            ", ".join(f"{a} {i}: x{v:.2g}" for (a, i), v in kept.items()),
        )
    slow, good = runs["suggested / 10"].val_acc, runs["suggested"].val_acc
    run_dir.effect(
        "the rate the range test suggests trains well: far above chance, ahead of a tenth of it",
        good > 0.5 and (math.isnan(slow) or good > slow),
        f"validation accuracy {100 * good:.1f}% at the suggested rate, {100 * slow:.1f}% at a "
        "tenth of it",
    )
