import math

import pytest

from dlf.bench.load import bench_load


@pytest.mark.slow
def test_bench_load_times_a_quick_run_alone_and_beside_a_busy_process():
    report = bench_load("bias-variance", busy=(1,), all_cores=False)
    assert [row[0] for row in report.rows] == ["alone", "beside 1 busy", "  ratio to alone"]
    assert all(value > 0 and math.isfinite(value) for _, value, _ in report.rows)
    assert report.ratio == pytest.approx(report.rows[1][1] / report.rows[0][1])
    assert "target <= 1.5x" in report.notes[0]
    assert "ratio ours/peer" in report.format()
