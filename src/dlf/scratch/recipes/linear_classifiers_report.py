"""The report of recipe ``linear-classifiers``: accuracies, k-NN's cross-validation, the linear
models' training curves and templates, and the effects the run shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlf.runs import RunDir, image_grid, line_plot, new_figure

if TYPE_CHECKING:
    from dlf.scratch.classifiers import CrossValidation
    from dlf.scratch.recipes.linear_classifiers import LinearClassifiersConfig

KEYS = {"k-NN": "knn", "linear SVM": "svm", "softmax": "softmax", "perceptron": "perceptron"}


def report(
    run_dir: RunDir,
    config: LinearClassifiersConfig,
    results: dict[str, dict],
    cv: CrossValidation,
    histories: dict[str, dict],
    models: dict,
) -> None:
    """Everything the run shows: ``results`` per model name (accuracy, seconds, sizes, note),
    k-NN's cross-validation ``cv``, the linear models' ``histories`` and the ``models``."""
    run_dir.table(
        "Test accuracy",
        ["model", "test accuracy", "train s", "test s", "train images", "test images", "setting"],
        [
            [
                name,
                f"{r['accuracy']:.4f}",
                f"{r['train_seconds']:.2f}",
                f"{r['test_seconds']:.2f}",
                r["n_train"],
                r["n_test"],
                r["note"],
            ]
            for name, r in results.items()
        ],
    )
    fig, axes = new_figure()
    ax = axes[0, 0]
    names = list(results)
    ax.bar(names, [results[n]["accuracy"] for n in names], color="#4c72b0")
    for i, n in enumerate(names):
        ax.text(
            i, results[n]["accuracy"], f"{results[n]['accuracy']:.3f}", ha="center", va="bottom"
        )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.axhline(0.1, color="gray", linestyle=":", label="chance")
    ax.legend(fontsize="small")
    fig.tight_layout()
    run_dir.figure("accuracy", fig, caption="MNIST test accuracy of the four classifiers")
    ks = sorted(cv.accuracy)
    run_dir.figure(
        "knn_cv",
        line_plot(
            {"mean over folds": (ks, [cv.accuracy[k] for k in ks])},
            "k",
            "accuracy",
            f"k-NN: {config.cv_folds}-fold cross-validation (best k = {cv.best_k})",
        ),
        caption="Validation accuracy of k-NN against k; the best k is used on the test set.",
    )
    epochs = list(range(1, config.epochs + 1))
    run_dir.figure(
        "training",
        line_plot(
            {f"{n} loss": (epochs, h["loss"]) for n, h in histories.items()},
            "epoch",
            "mean batch loss (data + L2)",
            "Training loss of the linear models",
            logy=True,
        ),
        caption="SVM: hinge loss; softmax: cross-entropy; both with their L2 term.",
    )
    for name, model in models.items():
        W = model.params["W"].T.reshape(10, 28, 28)
        run_dir.figure(
            f"templates_{KEYS[name]}",
            image_grid(W, titles=[f"{name}: {c}" for c in range(10)], ncols=5),
            caption=f"{name}: the weight template W[:, c] of each class, as a 28x28 image "
            "(bright = positive weight).",
        )
    run_dir.text(
        "What this shows",
        "k-NN needs no training but compares each test image with every stored one, so its cost "
        "is at test time; a linear classifier learns one template per class, W[:, c], and scores "
        "an image by its dot product with each. The templates look like blurred averages of the "
        "digits (with the strokes of competing classes as dark regions): one template per class "
        "cannot represent the variety of ways a digit is written, which is why the linear models "
        f"stop at {results['linear SVM']['accuracy']:.1%} (SVM) and "
        f"{results['softmax']['accuracy']:.1%} (softmax) while k-NN, storing every example, "
        f"reaches {results['k-NN']['accuracy']:.1%}, at the price of "
        f"{results['k-NN']['test_seconds']:.0f} s of distance computations at test time. The "
        f"perceptron ({results['perceptron']['accuracy']:.1%}) moves its weights only on mistakes "
        "and never settles on data that are not linearly separable; the pocket keeps its best "
        "epoch.",
    )
    show_effects(run_dir, results, histories)


def show_effects(run_dir: RunDir, results: dict[str, dict], histories: dict[str, dict]) -> None:
    """The claims of the recipe, checked on its results."""
    acc = {name: r["accuracy"] for name, r in results.items()}
    worst = min(acc, key=acc.get)
    run_dir.effect(
        "every classifier beats guessing (10%) by far",
        acc[worst] > 0.5,
        f"lowest: {worst} {100 * acc[worst]:.1f}%",
    )
    best_linear = max(("linear SVM", "softmax"), key=acc.get)
    run_dir.effect(
        "k-NN, storing every training image, beats one template per class",
        acc["k-NN"] > acc[best_linear],
        f"k-NN {100 * acc['k-NN']:.1f}%, {best_linear} {100 * acc[best_linear]:.1f}%",
    )
    falls = {name: h["loss"][-1] < h["loss"][0] for name, h in histories.items()}
    run_dir.effect(
        "the linear models' training loss falls epoch by epoch",
        all(falls.values()) and all(len(h["loss"]) > 1 for h in histories.values()),
        ", ".join(f"{n} {h['loss'][0]:.3f} -> {h['loss'][-1]:.3f}" for n, h in histories.items()),
    )
