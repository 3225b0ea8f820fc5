"""The transfer recipe: the crossover finder, the target sets, input checks, and the runs."""

from __future__ import annotations

import json

import pytest
import torch

from dlf.cnn.data import image_tensors
from dlf.cnn.models.resnet import resnet18
from dlf.cnn.recipes.transfer import (
    RECIPE,
    budgets,
    class_subset,
    keep_test_images,
    repeat_to,
)
from dlf.cnn.recipes.transfer_report import about, crossover, report, within
from dlf.data import DataError
from dlf.recipes import ConfigError, get_recipe, run_recipe
from dlf.runs import Diverged, RunDir
from tests.cnn.test_transfer import tiny_images
from tests.conftest import data_available
from tests.report_checks import check_self_contained

needs_fashion = pytest.mark.skipif(
    not data_available("fashion-mnist"), reason="Fashion-MNIST not in $DLF_DATA"
)


# ----- the crossover finder, on made-up curves -----
@pytest.mark.parametrize(
    ("scratch", "transfer", "tolerance", "expected"),
    [
        # gaps 0.2, 0.1, -0.05: zero at 2/3 of the way from 10 to 100 in log
        ((0.5, 0.7, 0.9), (0.7, 0.8, 0.85), 0.0, 10 ** (1 + 2 / 3)),
        # never behind: the first budget
        ((0.8, 0.9, 0.95), (0.7, 0.85, 0.9), 0.0, 1.0),
        ((0.69, 0.8, 0.9), (0.7, 0.8, 0.9), 0.02, 1.0),  # within the tolerance from the start
        # always behind: none
        ((0.5, 0.6, 0.7), (0.7, 0.8, 0.9), 0.0, None),
        # equal counts as caught up; the last budget alone
        ((0.5, 0.6, 0.9), (0.7, 0.8, 0.9), 0.0, 100.0),
        # ahead at 10 but behind again at 100: it has not caught up for good until then
        ((0.5, 0.9, 0.8), (0.7, 0.8, 0.85), 0.0, None),
        ((0.5, 0.9, 0.8, 0.95), (0.7, 0.8, 0.85, 0.9), 0.0, 10 ** (2 + 0.05 / 0.1)),
        # the tolerance moves the crossing earlier: gaps 0.19, 0.09, -0.06
        ((0.5, 0.7, 0.9), (0.7, 0.8, 0.85), 0.01, 10 ** (1 + 0.09 / 0.15)),
    ],
)
def test_crossover_on_made_up_curves(scratch, transfer, tolerance, expected):
    labels = (1, 10, 100, 1000)[: len(scratch)]
    x = crossover(labels, scratch, transfer, tolerance)
    if expected is None:
        assert x is None
    else:  # float64 differences, log and exp: a few ulps
        assert x == pytest.approx(expected, rel=1e-12)


def test_crossover_lies_between_the_budgets_it_separates():
    x = crossover((5, 20, 100), (0.4, 0.6, 0.9), (0.6, 0.7, 0.8))
    assert 20 < x < 100


@pytest.mark.parametrize(
    ("labels", "scratch", "transfer"),
    [((1, 10), (0.5,), (0.6, 0.7)), ((10, 1), (0.5, 0.6), (0.6, 0.7)), ((), (), ()),
     ((0, 1), (0.5, 0.6), (0.6, 0.7))],
)  # fmt: skip
def test_crossover_refuses_bad_curves(labels, scratch, transfer):
    with pytest.raises(ValueError):
        crossover(labels, scratch, transfer)


# ----- the report's reading, from the numbers -----
@pytest.mark.parametrize(
    ("x", "text"), [(2689.08, "2700"), (2.9034, "2.9"), (46.4, "46"), (1.0, "1")]
)
def test_about(x, text):
    assert about(x) == text


def test_within():
    assert within(0.01) == "within 1 accuracy point"
    assert within(0.025) == "within 2.5 accuracy points"
    assert within(0.0) == "level"


LABELS = [1.0, 10.0, 100.0, 6000.0]


@pytest.mark.parametrize(
    ("fine_tune", "caught_up"),
    [((0.7, 0.8, 0.92, 0.955), True), ((0.7, 0.8, 0.95, 0.99), False)],
)
def test_report_states_where_scratch_catches_up(tmp_path, fine_tune, caught_up):
    config = RECIPE.make_config()
    acc = {"scratch": [0.5, 0.7, 0.9, 0.95], "linear probe": [0.6, 0.65, 0.7, 0.75],
           "fine-tune": list(fine_tune)}  # fmt: skip
    crossings = {m: crossover(LABELS, acc["scratch"], acc[m], 0.01) for m in acc if m != "scratch"}
    run_dir = RunDir.create(tmp_path, "transfer", config, quiet=True)
    report(run_dir, config, LABELS, acc, crossings, "a source", 325, whole=True)
    s = run_dir.finish({})
    assert [e["shown"] for e in s["effects"]] == [True, caught_up]
    text = (run_dir.path / "report.html").read_text()
    probe = crossings["linear probe"]
    assert probe is not None and 1 < probe < 10
    assert f"with the linear probe (within 1 accuracy point) at about {about(probe)}" in text
    if caught_up:
        assert 100 < crossings["fine-tune"] < 6000
        assert (
            f"with fine-tuning (within 1 accuracy point) at about {about(crossings['fine-tune'])}"
            in text
        )
    else:
        assert crossings["fine-tune"] is None
        assert "not caught up with fine-tuning by all (6000) labels per class" in text
        assert "4.0 points behind there" in text
    assert check_self_contained(run_dir.path / "report.html") == 1


# ----- target sets -----
@pytest.mark.parametrize("per_class", [0, 2, 5])
def test_class_subset_keeps_and_relabels(per_class):
    data = image_tensors(tiny_images())
    sub = class_subset(data, (3, 1), per_class, seed=0)
    assert sub.classes == ("d", "b")
    assert len(sub.y_train) == 2 * (per_class or 6)
    assert sorted(set(sub.y_train.tolist())) == [0, 1]
    # relabelled images are the original images of classes 3 (-> 0) and 1 (-> 1)
    for x, y in zip(sub.x_train, sub.y_train, strict=True):
        original = (3, 1)[int(y)]
        assert any(torch.equal(x, xo) for xo in data.x_train[data.y_train == original])
    assert set(sub.y_test.tolist()) <= {0, 1} and sub.x_val is None


def test_class_subset_asks_for_too_many():
    with pytest.raises(ValueError, match="has 6 images"):
        class_subset(image_tensors(tiny_images()), (0,), 7)


@pytest.mark.parametrize(("n", "images", "expected"), [(5, 12, 15), (5, 5, 5), (24, 12, 24)])
def test_repeat_to(n, images, expected):
    data = image_tensors(tiny_images())
    data.x_train, data.y_train = data.x_train[:n], data.y_train[:n]
    out = repeat_to(data, images)
    assert len(out.y_train) == len(out.x_train) == expected
    assert torch.equal(out.x_train[-n:], data.x_train)
    assert torch.equal(out.y_train[-n:], data.y_train)


def test_test_part_is_seeded_and_keeps_pairs():
    data = image_tensors(tiny_images())
    a, b = keep_test_images(data, 3), keep_test_images(data, 3)
    assert len(a.y_test) == 3 and torch.equal(a.x_test, b.x_test)
    for x, y in zip(a.x_test, a.y_test, strict=True):
        i = next(i for i, xo in enumerate(data.x_test) if torch.equal(x, xo))
        assert data.y_test[i] == y
    assert keep_test_images(data, 0) is data and keep_test_images(data, 100) is data


def test_budgets_put_all_last():
    config = RECIPE.make_config(overrides={"labels_per_class": "0,100,1"})
    assert budgets(config) == [1, 100, 0]


# ----- input checks: one line, before any folder -----
@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"lr": "0"}, ConfigError, "lr must be > 0"),
        ({"labels_per_class": "1,-5"}, ConfigError, "labels_per_class must be >= 0"),
        ({"momentum": "1"}, ConfigError, "momentum must be >= 0 and < 1"),
        ({"target_classes": "5,12"}, ConfigError, "target_classes must be >= 0 and <= 9"),
        ({"catch_up": "1.5"}, ConfigError, "catch_up must be"),
        ({"source_classes": "4,5"}, ConfigError, "overlap: \\[5\\]"),
        ({"labels_per_class": "5,5"}, ConfigError, "labels_per_class must be distinct"),
        ({"target_classes": "5"}, ConfigError, "target_classes needs 2"),
        ({"widths": "8,16"}, ConfigError, "one entry per stage"),
        ({"labels_per_class": "1,6001"}, ConfigError, "6000 training images"),
        ({"labels_per_class": "1,6000,0"}, ConfigError, "6000 is every training image .* as 0"),
        ({"weights": "/nonexistent/r18.pt"}, DataError, "weights file .* not found"),
    ],
)
@needs_fashion
def test_bad_input_stops_before_any_folder(tmp_path, overrides, error, message):
    with pytest.raises(error, match=message):
        config = RECIPE.make_config(quick=True, overrides=overrides)
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())


# ----- runs -----
@pytest.mark.slow
@needs_fashion
def test_quick_setting_shows_transfer_ahead_with_few_labels(tmp_path):
    assert get_recipe("transfer") is RECIPE
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed"
    assert s["effects"] and all(e["shown"] for e in s["effects"]), s["effects"]
    assert s["labels_per_class"] == sorted(config.labels_per_class)
    for method in ("scratch", "linear_probe", "finetune"):
        assert len(s["test_accuracy"][method]) == len(config.labels_per_class)
    assert all(0.0 <= a <= 1.0 for acc in s["test_accuracy"].values() for a in acc)
    lines = [json.loads(x) for x in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    pairs = [(r["method"], r.get("labels_per_class")) for r in lines]
    assert pairs.count(("pretrain", None)) == config.pretrain_epochs
    for m in ("scratch", "linear probe", "fine-tune"):
        for b in config.labels_per_class:
            assert pairs.count((m, b)) == config.epochs
    assert (run_dir.path / "accuracy_vs_labels.png").stat().st_size > 0
    assert check_self_contained(run_dir.path / "report.html") == 1


@pytest.mark.slow
@needs_fashion
def test_a_loss_that_blows_up_ends_the_run_diverged(tmp_path):
    config = RECIPE.make_config(quick=True, overrides={"lr": "1e12", "labels_per_class": "1"})
    with pytest.raises(Diverged, match=r"method pretrain: the training loss became .*lower lr"):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    (folder,) = (tmp_path / "transfer").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged"].startswith("method pretrain")


@pytest.mark.slow
@needs_fashion
def test_weights_path_runs_with_a_saved_resnet18(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18().state_dict(), path)
    config = RECIPE.make_config(
        quick=True,
        overrides={"weights": str(path), "image_size": "32", "epochs": "1", "min_epoch_images": "1",
                   "labels_per_class": "2", "test_subset": "60"},
    )  # fmt: skip
    run_dir, s = run_recipe(RECIPE, config, tmp_path / "runs", quiet=True)
    assert s["status"] == "completed" and "source_test_accuracy" not in s
    assert 0.0 <= s["test_accuracy"]["finetune"][0] <= 1.0
    assert "ResNet-18 weights from" in (run_dir.path / "report.html").read_text()
