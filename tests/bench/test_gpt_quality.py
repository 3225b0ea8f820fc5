"""``dlf bench gpt-quality`` on a short run: its rows, its stop at the target, its input checks."""

import math

import pytest

from dlf.bench.gpt_quality import bench_gpt_quality, plain_time
from dlf.recipes.config import ConfigError
from tests.conftest import data_available

needs_text = pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)


@pytest.mark.parametrize(
    "kwargs",
    [{"settings": "default,nonsense"}, {"settings": ","}, {"eval_interval": 0},
     {"target": math.nan}, {"plain_lr": -1.0}, {"max_steps": -5}, {"repeats": 0}],
)  # fmt: skip
def test_bad_arguments_are_refused_before_any_training(kwargs):
    with pytest.raises(ConfigError):
        bench_gpt_quality(**kwargs)


@needs_text
@pytest.mark.slow
def test_every_run_stops_at_the_first_evaluation_at_or_below_the_target():
    # ln(65) = 4.17 at the start; 3.3 is crossed within a few dozen steps by every run
    report = bench_gpt_quality(target=3.3, settings="default", eval_interval=5, eval_batches=2,
                               plain_max_steps=200, max_steps=200, repeats=1)  # fmt: skip
    rows = {what.split(",")[0]: (what, value) for what, value, _ in report.rows}
    plain_label, plain_s = rows["plain GPT (fp32"]
    default_label, default_s = rows["dlf default (fp32)"]
    assert plain_s > 0 and default_s > 0
    assert report.ratio == pytest.approx(default_s / plain_s)
    assert int(default_label.split(", ")[1].split()[0]) < 200  # stopped before its last step


@needs_text
def test_a_target_never_reached_is_reported_not_timed():
    seconds, steps, loss = plain_time(target=0.01, eval_interval=2, eval_batches=1, lr=1e-3,
                                      max_steps=4)  # fmt: skip
    assert math.isnan(seconds) and steps == 4 and loss > 0.01
