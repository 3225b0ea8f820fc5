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
on all 60,000 training images, k-NN on all 60,000 training and 10,000 test images; the quick
setting uses small subsets. This module trains and scores;
:mod:`dlf.scratch.recipes.linear_classifiers_report` writes the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, check_finite
from dlf.scratch.classifiers import (
    KNearestNeighbors,
    LinearSVM,
    Perceptron,
    SoftmaxClassifier,
    cross_validate_k,
)
from dlf.scratch.recipes import linear_classifiers_report as report
from dlf.scratch.recipes.linear_classifiers_report import KEYS
from dlf.scratch.recipes.mnist_data import mnist_splits


@dataclass
class LinearClassifiersConfig:
    """Full setting by default; ``0`` for a subset size means the whole split."""

    train_subset: int = ranged(0, ge=0)  # training images (of 60,000) for every model
    test_subset: int = ranged(0, ge=0)  # test images (of 10,000) for every model
    knn_train: int = ranged(0, ge=0)  # of those, the images k-NN memorises
    knn_test: int = ranged(0, ge=0)  # of those, the images k-NN classifies (one distance a pair)
    cv_subset: int = ranged(10000, ge=0)  # training images for choosing k by cross-validation
    cv_folds: int = ranged(5, ge=2)
    ks: tuple[int, ...] = ranged((1, 3, 5, 7, 10, 15, 20), ge=1)  # the k to choose from
    epochs: int = ranged(10, ge=1)
    batch_size: int = ranged(200, ge=1)
    svm_lr: float = ranged(0.01, gt=0)
    svm_reg: float = ranged(1e-3, ge=0)
    softmax_lr: float = ranged(0.5, gt=0)
    softmax_reg: float = ranged(1e-3, ge=0)
    perceptron_epochs: int = ranged(10, ge=1)
    perceptron_lr: float = ranged(1.0, gt=0)
    perceptron_batch_size: int = ranged(32, ge=1)
    seed: int = ranged(0, ge=0)


def preflight(config: LinearClassifiersConfig) -> None:
    """Cross-validation has images enough: every fold of ``cv_subset`` holds more than max(ks)."""
    if not config.ks:
        raise ConfigError("ks needs at least one k")
    if config.cv_subset and config.cv_subset // config.cv_folds <= max(config.ks):
        raise ConfigError(
            f"cv_subset={config.cv_subset} in {config.cv_folds} folds leaves too few images for "
            f"k={max(config.ks)}: raise cv_subset or lower ks"
        )


def rows_of(n: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random rows of ``range(total)``; all of them (in order) when n is 0 or >= total.

    Example: ``rows_of(0, 3, rng)`` -> ``[0, 1, 2]``.
    """
    return rng.permutation(total)[:n] if 0 < n < total else np.arange(total)


def timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), seconds it took)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def run_knn(config: LinearClassifiersConfig, data, rng: np.random.Generator, run_dir: RunDir):
    """k by cross-validation on a training subset, then the chosen k on the test set.

    Returns ``(result, cv)``: the result row (accuracy, seconds, sizes, note) and the
    cross-validation record."""
    X, y = data.x_train, data.y_train
    cv_idx = rows_of(config.cv_subset, len(X), rng)
    run_dir.say(f"k-NN: {config.cv_folds}-fold cross-validation of k on {len(cv_idx)} images")
    cv, cv_seconds = timed(cross_validate_k, X[cv_idx], y[cv_idx], config.ks, config.cv_folds, rng)
    knn_tr = rows_of(config.knn_train, len(X), rng)
    knn_te = rows_of(config.knn_test, len(data.x_test), rng)
    run_dir.say(f"k-NN: k={cv.best_k} on {len(knn_te)} test x {len(knn_tr)} training images")
    knn = KNearestNeighbors(cv.best_k).fit(X[knn_tr], y[knn_tr])
    acc, test_seconds = timed(knn.score, data.x_test[knn_te], data.y_test[knn_te])
    result = {
        "accuracy": acc,
        "train_seconds": cv_seconds,  # k-NN "training" is memorising; the cost is choosing k
        "test_seconds": test_seconds,
        "n_train": len(knn_tr),
        "n_test": len(knn_te),
        "note": f"k={cv.best_k} chosen by {config.cv_folds}-fold CV on {len(cv_idx)} images",
    }
    return result, cv


def run_linear(config: LinearClassifiersConfig, Xc, y, Xc_test, y_test, rng, run_dir: RunDir):
    """The linear SVM and the softmax classifier, trained by SGD on the centred pixels.

    Returns ``(results, histories, models)``, each keyed by model name. A loss that became NaN
    or infinite ends the run (:class:`dlf.runs.Diverged`)."""
    linear = {
        "linear SVM": (LinearSVM(n_classes=10), config.svm_lr, config.svm_reg),
        "softmax": (SoftmaxClassifier(n_classes=10), config.softmax_lr, config.softmax_reg),
    }
    results, histories = {}, {}
    for name, (model, lr, reg) in linear.items():
        run_dir.say(f"{name}: {config.epochs} epochs of SGD on {len(Xc)} images")
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is caught just below
            hist, train_seconds = timed(
                model.fit,
                Xc,
                y,
                epochs=config.epochs,
                lr=lr,
                batch_size=config.batch_size,
                reg=reg,
                rng=rng,
            )
        for epoch, loss in enumerate(hist["loss"], start=1):
            check_finite(loss, epoch, f"{name} loss", f"try a lower {KEYS[name]}_lr")
        acc, test_seconds = timed(model.score, Xc_test, y_test)
        histories[name] = hist
        results[name] = {
            "accuracy": acc,
            "train_seconds": train_seconds,
            "test_seconds": test_seconds,
            "n_train": len(Xc),
            "n_test": len(y_test),
            "note": f"lr={lr}, reg={reg}, {config.epochs} epochs, batch {config.batch_size}",
        }
    return results, histories, {name: model for name, (model, _, _) in linear.items()}


def run_perceptron(config: LinearClassifiersConfig, Xc, y, Xc_test, y_test, rng, run_dir):
    """The perceptron rule (pocket: the best epoch kept); returns ``(result, history)``."""
    run_dir.say(f"perceptron: {config.perceptron_epochs} epochs on {len(Xc)} images")
    perceptron = Perceptron(n_classes=10)
    hist, train_seconds = timed(
        perceptron.fit,
        Xc,
        y,
        config.perceptron_epochs,
        config.perceptron_lr,
        config.perceptron_batch_size,
        rng,
    )
    acc, test_seconds = timed(perceptron.score, Xc_test, y_test)
    result = {
        "accuracy": acc,
        "train_seconds": train_seconds,
        "test_seconds": test_seconds,
        "n_train": len(Xc),
        "n_test": len(y_test),
        "note": f"lr={config.perceptron_lr}, batch {config.perceptron_batch_size}, pocket (best "
        "epoch kept)",
    }
    return result, hist


def log_epochs(run_dir: RunDir, histories: dict, p_hist: dict) -> None:
    """One metrics line per epoch: each linear model's loss and training accuracy, and the
    perceptron's mistakes and training accuracy."""
    epochs = max([len(h["loss"]) for h in histories.values()] + [len(p_hist["mistakes"])])
    for epoch in range(epochs):
        record = {}
        for name, hist in histories.items():
            if epoch < len(hist["loss"]):
                record[f"{KEYS[name]}_loss"] = hist["loss"][epoch]
                record[f"{KEYS[name]}_train_acc"] = hist["train_accuracy"][epoch]
        if epoch < len(p_hist["mistakes"]):
            record["perceptron_mistakes"] = p_hist["mistakes"][epoch]
            record["perceptron_train_acc"] = p_hist["train_accuracy"][epoch]
        run_dir.log(epoch + 1, **record)


def run(config: LinearClassifiersConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    data = mnist_splits(0.0, config.train_subset, test_subset=config.test_subset, seed=config.seed)
    mean_image = data.x_train.mean(axis=0)  # k-NN's distances do not change under this shift
    Xc, Xc_test = data.x_train - mean_image, data.x_test - mean_image
    y, y_test = data.y_train, data.y_test
    results: dict[str, dict] = {}
    results["k-NN"], cv = run_knn(config, data, rng, run_dir)
    linear, histories, models = run_linear(config, Xc, y, Xc_test, y_test, rng, run_dir)
    results |= linear
    results["perceptron"], p_hist = run_perceptron(config, Xc, y, Xc_test, y_test, rng, run_dir)
    log_epochs(run_dir, histories, p_hist)
    report.report(run_dir, config, results, cv, histories, models)
    summary = {f"{KEYS[name]}_accuracy": r["accuracy"] for name, r in results.items()}
    summary.update({f"{KEYS[n]}_train_seconds": r["train_seconds"] for n, r in results.items()})
    summary["knn_k"] = cv.best_k
    summary["knn_test_seconds"] = results["k-NN"]["test_seconds"]
    summary["knn_train_images"] = results["k-NN"]["n_train"]
    summary["knn_test_images"] = results["k-NN"]["n_test"]
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
    preflight=preflight,
)
