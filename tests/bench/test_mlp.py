import math

import numpy as np
import pytest
import torch

from dlf.bench.mlp import (
    SIZES,
    bench_mlp,
    copy_scratch_to_torch,
    epoch_batches,
    make_pair,
    max_weight_difference,
    scratch_epoch,
    torch_epoch,
    torch_mlp,
)
from dlf.scratch.mlp import mlp

# float32 training of the two twins agrees to rounding (here about 5e-8 after 8 to 32 steps).
WEIGHT_ATOL = 1e-6


def random_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], n)


def test_copied_weights_give_the_same_logits():
    scratch = mlp(SIZES, rng=np.random.default_rng(3))
    twin = torch_mlp(SIZES)
    copy_scratch_to_torch(scratch, twin)
    assert max_weight_difference(scratch, twin) == 0.0
    x, _ = random_data(5)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(scratch.forward(x), expected, atol=1e-5, rtol=1e-5)


def test_copy_rejects_a_torch_model_of_another_shape():
    with pytest.raises(ValueError, match="layer 0"):
        copy_scratch_to_torch(mlp(SIZES), torch_mlp((784, 100, 10)))


@pytest.mark.parametrize("n, batch_size", [(1024, 128), (1000, 128), (300, 64)])
def test_one_epoch_trains_both_twins_to_the_same_weights(n, batch_size):
    x, y = random_data(n)
    batches = epoch_batches(n, batch_size, np.random.default_rng(1))
    pair = make_pair(lr=0.05, seed=2)
    assert pair.scratch.layers[0].needs_input_grad is False
    loss_s = scratch_epoch(pair.scratch, pair.scratch_opt, x, y, batches)
    loss_t = torch_epoch(
        pair.torch,
        pair.torch_opt,
        torch.from_numpy(x),
        torch.from_numpy(y),
        [torch.from_numpy(b) for b in batches],
    )
    assert all(p.dtype == np.float32 for p in pair.scratch.params.values())
    assert max_weight_difference(pair.scratch, pair.torch) <= WEIGHT_ATOL
    assert math.isclose(loss_s, loss_t, rel_tol=1e-5, abs_tol=1e-6)

    # The check can fail: the same epoch without momentum in torch ends far from scratch's.
    plain = make_pair(lr=0.05, seed=2)
    plain.torch_opt = torch.optim.SGD(plain.torch.parameters(), lr=0.05)
    scratch_epoch(plain.scratch, plain.scratch_opt, x, y, batches)
    torch_epoch(
        plain.torch,
        plain.torch_opt,
        torch.from_numpy(x),
        torch.from_numpy(y),
        [torch.from_numpy(b) for b in batches],
    )
    assert max_weight_difference(plain.scratch, plain.torch) > 100 * WEIGHT_ATOL


def test_epoch_batches_is_a_permutation_cut_into_batches():
    batches = epoch_batches(300, 128, np.random.default_rng(0))
    assert [len(b) for b in batches] == [128, 128, 44]
    assert sorted(np.concatenate(batches).tolist()) == list(range(300))


def test_bench_mlp_reports_both_times_and_a_finite_ratio():
    threads = torch.get_num_threads()
    report = bench_mlp(n=1024, threads=1)
    assert torch.get_num_threads() == threads
    times = {what: value for what, value, _ in report.rows}
    ours = times["dlf.scratch (NumPy): time per epoch"]
    theirs = times["PyTorch (CPU): time per epoch"]
    assert ours > 0 and theirs > 0 and times["steps per epoch"] == 8
    assert math.isfinite(report.ratio) and abs(report.ratio - ours / theirs) < 1e-9
    assert report.target == 0.9 and "ratio ours/peer" in report.format()
    # Four identical epochs each (warm-up + 3 repeats) from the same start: the same weights.
    difference = next(n for n in report.notes if "largest weight difference" in n)
    assert float(difference.rsplit(" ", 1)[1]) <= WEIGHT_ATOL
