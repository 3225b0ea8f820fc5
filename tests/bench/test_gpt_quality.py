"""``dlf bench gpt-quality`` on a short run: its rows, its stop at the target, its input checks."""

import math

import pytest

from dlf.bench.gpt_quality import bench_gpt_quality, plain_time, steps_per
from dlf.recipes.config import ConfigError
from tests.conftest import data_available

needs_text = pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)


@pytest.mark.parametrize(
    "kwargs",
    [{"settings": "default,nonsense"}, {"settings": ","}, {"eval_tokens": 0}, {"eval_windows": 0},
     {"target": math.nan}, {"plain_lr": -1.0}, {"max_steps": -5}, {"repeats": 0}],
)  # fmt: skip
def test_bad_arguments_are_refused_before_any_training(kwargs):
    with pytest.raises(ConfigError):
        bench_gpt_quality(**kwargs)


@needs_text
@pytest.mark.slow
def test_every_run_stops_at_the_first_evaluation_at_or_below_the_target():
    # ln(65) = 4.17 at the start; 3.3 is crossed within a few dozen steps by every run
    report = bench_gpt_quality(target=3.3, settings="default", eval_tokens=3840, eval_windows=24,
                               plain_max_steps=200, max_steps=200, repeats=1)  # fmt: skip
    rows = {what.split(",")[0]: (what, value) for what, value, _ in report.rows}
    plain_label, plain_s = rows["plain GPT (fp32"]
    default_label, default_s = rows["dlf default (fp32)"]
    assert plain_s > 0 and default_s > 0
    assert report.ratio == pytest.approx(default_s / plain_s)
    default_steps = int(default_label.split(", ")[1].split()[0])
    plain_steps = int(plain_label.rsplit(", ", 1)[1].split()[0])
    assert default_steps < 200  # stopped before its last step
    assert default_steps % 5 == 0 and plain_steps % 5 == 0  # 3,840 tokens = 5 steps of 12 x 64


def test_evaluations_come_every_so_many_tokens_whatever_the_batch():
    assert steps_per(38400, 12, 64) == 50 and steps_per(38400, 24, 64) == 25
    assert steps_per(10, 12, 64) == 1


@needs_text
def test_a_target_never_reached_is_reported_not_timed():
    seconds, steps, loss = plain_time(target=0.01, eval_tokens=1536, eval_windows=12, lr=1e-3,
                                      max_steps=4)  # fmt: skip
    assert math.isnan(seconds) and steps == 4 and loss > 0.01


def test_a_round_that_misses_never_hides_a_round_that_reached(monkeypatch):
    from dlf.bench import gpt_quality

    plain = iter([(10.0, 100, 1.8), (math.nan, 100, 1.9)])
    fast = iter([(math.nan, 50, 1.9), (4.0, 50, 1.8)])
    monkeypatch.setattr(gpt_quality, "plain_time", lambda *a: next(plain))
    monkeypatch.setattr(gpt_quality, "setting_time", lambda *a: (*next(fast), "bf16"))
    report = bench_gpt_quality(settings="fast", repeats=2)
    assert report.rows[0][1] == 10.0 and report.rows[1][1] == 4.0
    assert report.ratio == pytest.approx(0.4)


def test_no_ratio_when_the_plain_model_never_reaches_the_target(monkeypatch):
    from dlf.bench import gpt_quality

    monkeypatch.setattr(gpt_quality, "plain_time", lambda *a: (math.nan, 8000, 1.95))
    monkeypatch.setattr(gpt_quality, "setting_time", lambda *a: (4.0, 50, 1.8, "bf16"))
    report = bench_gpt_quality(settings="fast", repeats=1)
    assert report.ratio is None
    assert any("plain GPT ended at validation loss 1.9500" in note for note in report.notes)
