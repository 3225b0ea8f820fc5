"""``dlf bench numpy-gpt`` at tiny sizes: its rows, and the two twins still equal after it."""

import pytest

from dlf.bench.numpy_gpt import TARGET, bench_numpy_gpt
from tests.cli.test_tools import _run

TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=2, vocab_size=11, repeats=2)


@pytest.mark.parametrize("attention", ["ours", "fused"])
def test_bench_report(attention):
    report = bench_numpy_gpt(**TINY, attention=attention)
    (_, numpy_ms, _), (peer, torch_ms, _), (_, numpy_loss, _), (_, torch_loss, _) = report.rows
    assert numpy_ms > 0 and torch_ms > 0 and f"attention={attention}" in peer
    assert report.ratio == pytest.approx(numpy_ms / torch_ms) and report.target == TARGET
    # 3 AdamW steps in float32 from the same weights on the same batch: the losses agree to
    # float32 rounding (eps 1.2e-7) of a few hundred sums; a different step would move them
    # by about lr x gradient, 1e-3 here
    assert numpy_loss == pytest.approx(torch_loss, rel=1e-5)


def test_bench_numpy_gpt_runs_from_the_command_line(capsys):
    args = [f"{k}={v}" for k, v in TINY.items()]
    status, out, _ = _run(capsys, "bench", "numpy-gpt", *args)
    assert status == 0 and "ratio ours/peer, time per step" in out
