"""The ``transfer`` recipe's report: where training from scratch catches up, drawn and said.

``crossover`` finds, from the accuracies of a sweep over labels per class, the point from which
training from scratch stays within a tolerance of a transfer method; ``report`` records the
effects, the figure (accuracy against labels per class, log x, the crossovers dotted), the table
and the reading of the run, every number computed from the run's own results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from dlf.cnn.transfer import METHODS
from dlf.runs import RunDir, new_figure

if TYPE_CHECKING:
    from dlf.cnn.recipes.transfer import TransferConfig

COLOURS = {"scratch": "C0", "linear probe": "C1", "fine-tune": "C2"}


def crossover(
    labels: Sequence[float],
    scratch: Sequence[float],
    transfer: Sequence[float],
    tolerance: float = 0.0,
) -> float | None:
    """Labels per class from which training from scratch is within ``tolerance`` of transfer.

    With the gaps ``g_i = transfer_i - tolerance - scratch_i`` at budgets ``l_0 < l_1 < ...``,
    take the first ``i`` with ``g_j <= 0`` for every ``j >= i``. For ``i = 0`` that is ``l_0``
    (scratch is never behind); else the point where ``g`` reaches 0 between ``l_{i-1}`` and
    ``l_i``, linear in ``log l``:

        log x = log l_{i-1} + g_{i-1} / (g_{i-1} - g_i) * (log l_i - log l_{i-1})

    None when scratch is still behind at the largest budget. Example: labels (1, 10, 100),
    scratch (0.5, 0.7, 0.9), transfer (0.7, 0.8, 0.85), tolerance 0 -> gaps (0.2, 0.1, -0.05)
    -> 10 ** (1 + 0.1 / 0.15) = 46.4.
    """
    if not len(labels) == len(scratch) == len(transfer) or not len(labels):
        raise ValueError("labels, scratch and transfer need one value per budget each")
    if any(b <= a for a, b in zip(labels, labels[1:], strict=False)) or labels[0] <= 0:
        raise ValueError(f"labels must be positive and increasing, got {list(labels)}")
    gaps = [t - tolerance - s for s, t in zip(scratch, transfer, strict=True)]
    behind = [i for i, g in enumerate(gaps) if g > 0]
    if not behind:
        return float(labels[0])
    i = behind[-1] + 1
    if i == len(labels):
        return None
    lo, hi = math.log(labels[i - 1]), math.log(labels[i])
    return math.exp(lo + gaps[i - 1] / (gaps[i - 1] - gaps[i]) * (hi - lo))


def sweep_figure(
    labels: Sequence[float],
    accuracy: dict[str, Sequence[float]],
    crossings: dict[str, float | None],
    all_images: bool,
) -> Figure:
    """Test accuracy against labels per class (log x), one line per method, and a dotted line
    where scratch catches up with each transfer method (``crossings``, None: not drawn)."""
    fig, axes = new_figure(size=(7.0, 4.4))
    ax = axes[0, 0]
    for method, acc in accuracy.items():
        ax.plot(labels, acc, "o-", color=COLOURS[method], label=method, linewidth=1.6)
    for method, x in crossings.items():
        if x is None:
            continue
        ax.axvline(x, color=COLOURS[method], linestyle=":", linewidth=1.4)
        ax.annotate(
            f"scratch catches up\nwith {method}: {about(x)}",
            (x, 0.02),
            xycoords=("data", "axes fraction"),
            xytext=(4, 0),
            textcoords="offset points",
            color=COLOURS[method],
            fontsize="small",
        )
    ax.set_xscale("log")
    ax.set_xticks(list(labels))
    names = [f"{b:.0f}" for b in labels]
    if all_images:
        names[-1] = f"all\n({labels[-1]:.0f})"
    ax.set_xticklabels(names)
    ax.minorticks_off()
    ax.set_xlabel("labelled training images per target class")
    ax.set_ylabel("target test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return fig


NOUNS = {"linear probe": "the linear probe", "fine-tune": "fine-tuning"}


def about(x: float) -> str:
    """``x`` to two significant digits, as a reader would say it. Example: 2689.1 -> "2700",
    2.903 -> "2.9", 46.4 -> "46"."""
    return f"{float(f'{x:.2g}'):g}"


def within(catch_up: float) -> str:
    """The tolerance in words. Example: 0.01 -> "within 1 accuracy point", 0 -> "level"."""
    if not catch_up:
        return "level"
    points = f"{100 * catch_up:g}"
    return f"within {points} accuracy point{'' if points == '1' else 's'}"


def catch_up_line(
    method: str, x: float | None, labels: list[float], names: list[str], gap: float, near: str
) -> str:
    """One sentence of the report on where scratch caught up with ``method`` (``names``: the
    budgets as the table shows them, ``gap``: transfer minus scratch at the largest budget)."""
    noun = NOUNS[method]
    if x is None:
        return (
            f"Training from scratch has not caught up with {noun} by {names[-1]} labels per "
            f"class, the largest budget here: it is {100 * gap:.1f} points behind there."
        )
    if x <= labels[0]:
        return (
            f"Training from scratch is {near} of {noun} (or ahead) from the smallest budget "
            f"on, {names[0]} labels per class."
        )
    i = min(i for i, b in enumerate(labels) if b >= x)
    return (
        f"Training from scratch catches up with {noun} ({near}) at about {about(x)} labels per "
        f"class (interpolated in log between the budgets {names[i - 1]} and {names[i]}) and "
        "stays there at every larger budget."
    )


def report(
    run_dir: RunDir,
    config: TransferConfig,
    labels: list[float],
    accuracy: dict[str, list[float]],
    crossings: dict[str, float | None],
    source_line: str,
    probe_parameters: int,
    whole: bool,
) -> None:
    """The effects, the sweep figure, the table and the reading of the run."""
    best = [max(p, f) for p, f in zip(accuracy["linear probe"], accuracy["fine-tune"], strict=True)]
    first = f"{labels[0]:.0f} label{'s' if labels[0] != 1 else ''} per class"
    run_dir.effect(
        f"with {first}, a pretrained net beats training from scratch",
        best[0] > accuracy["scratch"][0],
        f"best transfer {best[0]:.1%}, scratch {accuracy['scratch'][0]:.1%}",
    )
    near = within(config.catch_up)
    names = [f"{b:.0f}" for b in labels]
    if whole:  # the last budget is every image; the claim needs the sweep to reach it
        names[-1] = f"all ({names[-1]})"
        x = crossings["fine-tune"]
        run_dir.effect(
            "with enough labels, training from scratch catches up with fine-tuning",
            x is not None,
            f"{near} from about {about(x)} labels per class" if x is not None else
            f"still {100 * (accuracy['fine-tune'][-1] - accuracy['scratch'][-1]):.1f} points "
            "behind with every label",
        )  # fmt: skip
    run_dir.figure(
        "accuracy_vs_labels",
        sweep_figure(labels, accuracy, crossings, whole),
        caption="target test accuracy against labelled images per class; dotted: where "
        f"training from scratch comes {near} of a transfer method and stays there",
    )
    rows = [
        [names[i], f"{round(b * len(config.target_classes)):,}"]
        + [f"{accuracy[m][i]:.4f}" for m in METHODS]
        for i, b in enumerate(labels)
    ]
    run_dir.table(
        f"Target test accuracy after {config.epochs} epochs per budget (epochs of at least "
        f"{config.min_epoch_images} images)",
        ["labels per class", "training images", *METHODS],
        rows,
    )
    lines = [
        f"Source: {source_line}. The linear probe trains {probe_parameters:,} parameters; "
        "scratch and fine-tuning train all of them.",
        f"With {first}: scratch {accuracy['scratch'][0]:.1%}, linear probe "
        f"{accuracy['linear probe'][0]:.1%}, fine-tune {accuracy['fine-tune'][0]:.1%}.",
    ]
    for m in ("linear probe", "fine-tune"):
        gap = accuracy[m][-1] - accuracy["scratch"][-1]
        lines.append(catch_up_line(m, crossings[m], labels, names, gap, near))
    lines.append(
        "Pretrained features are worth most when labels are few: the layers already detect "
        "edges, textures and shapes, and only the head (probe) or a small adjustment "
        "(fine-tune) has to be learnt from the target images. With enough labels a net trained "
        "from scratch learns features made for the target itself."
    )
    probe, tune = crossings["linear probe"], crossings["fine-tune"]
    if probe is not None and (tune is None or probe < tune):
        lines.append(
            "Scratch catches up with the probe first: the probe's frozen features, learnt for "
            "the source classes, cannot adapt to the target, while fine-tuning adapts them."
        )
    run_dir.text("What this shows", " ".join(lines))
