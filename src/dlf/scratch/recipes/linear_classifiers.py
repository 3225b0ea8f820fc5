"""Recipe ``linear-classifiers``: k-NN, linear SVM, softmax and the perceptron on MNIST.

The classic classifiers before neural networks, side by side on the same pixels (CS231n,
"Image classification" and "Linear classification"):

    k-NN        predict the majority label of the k training images nearest in L2; k is chosen
                by cross-validation on a training subset
    linear SVM  scores s = x W + b, multiclass hinge loss, mini-batch SGD
    softmax     scores s = x W + b, cross-entropy of softmax(s), mini-batch SGD
    perceptron  scores s = x W + b, the mistake-driven rule (pocket: best epoch kept)

Inputs are pixels in [0, 1]; the linear models see them centred by the mean training image
(k-NN's distances do not change under a shift). Each column ``W[:, c]`` of a linear model, drawn
as a 28x28 image, is the "template" that class c matches against. Full setting: the linear models
on all 60,000 training images, k-NN on all 60,000 training and 10,000 test images (45 s of
distance computations measured on the project's 2-core machine); the quick setting uses small
subsets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dlf.recipes import Recipe
from dlf.runs import RunDir, image_grid, line_plot, new_figure
from dlf.scratch.classifiers import (
    KNearestNeighbors,
    LinearSVM,
    Perceptron,
    SoftmaxClassifier,
    cross_validate_k,
)
from dlf.scratch.recipes.mnist_data import mnist_splits


@dataclass
class LinearClassifiersConfig:
    """Full setting by default; ``0`` for a subset size means the whole split."""

    train_subset: int = 0  # training images (of 60,000) for every model
    test_subset: int = 0  # test images (of 10,000) for every model
    knn_train: int = 0  # of those, the images k-NN memorises
    knn_test: int = 0  # of those, the images k-NN classifies (costly: one distance per pair)
    cv_subset: int = 10000  # training images for choosing k by cross-validation
    cv_folds: int = 5
    ks: tuple[int, ...] = (1, 3, 5, 7, 10, 15, 20)
    epochs: int = 10
    batch_size: int = 200
    svm_lr: float = 0.01
    svm_reg: float = 1e-3
    softmax_lr: float = 0.5
    softmax_reg: float = 1e-3
    perceptron_epochs: int = 10
    perceptron_lr: float = 1.0
    perceptron_batch_size: int = 32
    seed: int = 0


KEYS = {"k-NN": "knn", "linear SVM": "svm", "softmax": "softmax", "perceptron": "perceptron"}


def run(config: LinearClassifiersConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    data = mnist_splits(0.0, config.train_subset, test_subset=config.test_subset, seed=config.seed)
    X, y, X_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    mean_image = X.mean(axis=0)
    Xc, Xc_test = X - mean_image, X_test - mean_image
    results: dict[str, dict] = {}

    def subset(n: int, total: int) -> np.ndarray:  # n random rows of range(total); 0 = all
        return rng.permutation(total)[:n] if 0 < n < total else np.arange(total)

    # --- k-NN: k by cross-validation on a training subset, then the chosen k on the test set ---
    cv_idx = subset(config.cv_subset, len(X))
    run_dir.say(f"k-NN: {config.cv_folds}-fold cross-validation of k on {len(cv_idx)} images")
    t0 = time.perf_counter()
    cv = cross_validate_k(X[cv_idx], y[cv_idx], config.ks, config.cv_folds, rng)
    cv_seconds = time.perf_counter() - t0
    knn_tr, knn_te = subset(config.knn_train, len(X)), subset(config.knn_test, len(X_test))
    run_dir.say(f"k-NN: k={cv.best_k} on {len(knn_te)} test x {len(knn_tr)} training images")
    knn = KNearestNeighbors(cv.best_k).fit(X[knn_tr], y[knn_tr])
    t0 = time.perf_counter()
    knn_acc = knn.score(X_test[knn_te], y_test[knn_te])
    results["k-NN"] = {
        "accuracy": knn_acc,
        "train_seconds": cv_seconds,  # k-NN "training" is memorising; the cost is choosing k
        "test_seconds": time.perf_counter() - t0,
        "n_train": len(knn_tr),
        "n_test": len(knn_te),
        "note": f"k={cv.best_k} chosen by {config.cv_folds}-fold CV on {len(cv_idx)} images",
    }

    # --- the linear models, trained by SGD on the centred pixels ---
    linear = {
        "linear SVM": (LinearSVM(n_classes=10), config.svm_lr, config.svm_reg),
        "softmax": (SoftmaxClassifier(n_classes=10), config.softmax_lr, config.softmax_reg),
    }
    histories = {}
    for name, (model, lr, reg) in linear.items():
        run_dir.say(f"{name}: {config.epochs} epochs of SGD on {len(Xc)} images")
        t0 = time.perf_counter()
        histories[name] = model.fit(
            Xc, y, epochs=config.epochs, lr=lr, batch_size=config.batch_size, reg=reg, rng=rng
        )
        train_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        acc = model.score(Xc_test, y_test)
        results[name] = {
            "accuracy": acc,
            "train_seconds": train_seconds,
            "test_seconds": time.perf_counter() - t0,
            "n_train": len(Xc),
            "n_test": len(y_test),
            "note": f"lr={lr}, reg={reg}, {config.epochs} epochs, batch {config.batch_size}",
        }

    run_dir.say(f"perceptron: {config.perceptron_epochs} epochs on {len(Xc)} images")
    perceptron = Perceptron(n_classes=10)
    t0 = time.perf_counter()
    p_hist = perceptron.fit(
        Xc, y, config.perceptron_epochs, config.perceptron_lr, config.perceptron_batch_size, rng
    )
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    results["perceptron"] = {
        "accuracy": perceptron.score(Xc_test, y_test),
        "train_seconds": train_seconds,
        "test_seconds": time.perf_counter() - t0,
        "n_train": len(Xc),
        "n_test": len(y_test),
        "note": f"lr={config.perceptron_lr}, batch {config.perceptron_batch_size}, pocket (best "
        "epoch kept)",
    }

    for epoch in range(max(config.epochs, config.perceptron_epochs)):
        record = {}
        for name, hist in histories.items():
            key = KEYS[name]
            if epoch < len(hist["loss"]):
                record[f"{key}_loss"] = hist["loss"][epoch]
                record[f"{key}_train_acc"] = hist["train_accuracy"][epoch]
        if epoch < len(p_hist["mistakes"]):
            record["perceptron_mistakes"] = p_hist["mistakes"][epoch]
            record["perceptron_train_acc"] = p_hist["train_accuracy"][epoch]
        run_dir.log(epoch + 1, **record)

    # --- report ---
    run_dir.table(
        "Test accuracy",
        ["model", "test accuracy", "train s", "test s", "train images", "test images", "setting"],
        [
            [name, f"{r['accuracy']:.4f}", f"{r['train_seconds']:.2f}", f"{r['test_seconds']:.2f}",
             r["n_train"], r["n_test"], r["note"]]
            for name, r in results.items()
        ],
    )  # fmt: skip
    fig, axes = new_figure()
    ax = axes[0, 0]
    names = list(results)
    ax.bar(names, [results[n]["accuracy"] for n in names], color="#4c72b0")
    for i, n in enumerate(names):
        ax.text(i, results[n]["accuracy"], f"{results[n]['accuracy']:.3f}", ha="center",
                va="bottom")  # fmt: skip
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.axhline(0.1, color="gray", linestyle=":", label="chance")
    ax.legend(fontsize="small")
    fig.tight_layout()
    run_dir.figure("accuracy", fig, caption="MNIST test accuracy of the four classifiers")
    ks = sorted(cv.accuracy)
    run_dir.figure(
        "knn_cv",
        line_plot({"mean over folds": (ks, [cv.accuracy[k] for k in ks])}, "k", "accuracy",
                  f"k-NN: {config.cv_folds}-fold cross-validation (best k = {cv.best_k})"),
        caption="Validation accuracy of k-NN against k; the best k is used on the test set.",
    )  # fmt: skip
    epochs = list(range(1, config.epochs + 1))
    run_dir.figure(
        "training",
        line_plot({f"{n} loss": (epochs, h["loss"]) for n, h in histories.items()}, "epoch",
                  "mean batch loss (data + L2)", "Training loss of the linear models", logy=True),
        caption="SVM: hinge loss; softmax: cross-entropy; both with their L2 term.",
    )  # fmt: skip
    for name, (model, _, _) in linear.items():
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
    summary = {f"{KEYS[name]}_accuracy": r["accuracy"] for name, r in results.items()}
    summary.update({f"{KEYS[n]}_train_seconds": r["train_seconds"] for n, r in results.items()})
    summary["knn_k"] = cv.best_k
    summary["knn_test_seconds"] = results["k-NN"]["test_seconds"]
    summary["knn_train_images"] = len(knn_tr)
    summary["knn_test_images"] = len(knn_te)
    return summary


RECIPE = Recipe(
    name="linear-classifiers",
    module=1,
    description="k-NN, linear SVM, softmax and perceptron on MNIST side by side; weight templates",
    config=LinearClassifiersConfig,
    run=run,
    quick={
        "train_subset": 5000,
        "test_subset": 1000,
        "knn_train": 5000,
        "knn_test": 500,
        "cv_subset": 1000,
        "cv_folds": 3,
        "ks": (1, 3, 5),
        "epochs": 3,
        "perceptron_epochs": 3,
    },
    datasets=lambda c: ("mnist",),
    durations={"quick": 3.6, "full": 130.0},  # measured at load average ~12 on 2 cores
)
