import numpy as np
import torch

from dlf.bench.conv import bench_conv, scratch_net, torch_twin

EPS32 = float(np.finfo(np.float32).eps)  # 1.19e-7


def test_the_torch_twin_is_the_same_network():
    rng = np.random.default_rng(0)
    for padding in (0, 1):
        net = scratch_net(padding, rng).astype(np.float64)
        twin = torch_twin(net, padding).double()
        x = rng.standard_normal((3, 1, 28, 28))
        dy = rng.standard_normal((3, 10))
        x_t = torch.tensor(x, requires_grad=True)
        twin(x_t).backward(torch.from_numpy(dy))
        np.testing.assert_allclose(net(x), twin(torch.from_numpy(x)).detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(net.backward(dy), x_t.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(net[3].grads["W"], twin[3].weight.grad.numpy(), atol=1e-10)


def test_bench_conv_reports_both_times_and_their_ratio():
    threads = torch.get_num_threads()
    report = bench_conv(batch=2, repeats=1)
    assert torch.get_num_threads() == threads
    times = {what: value for what, value, _ in report.rows}
    ours, theirs = times["dlf.scratch forward+backward"], times["torch forward+backward"]
    assert ours > 0 and theirs > 0
    assert abs(report.ratio - ours / theirs) < 1e-9 and report.target == 1.5
    # The float32 outputs of the same net through im2col + NumPy's BLAS and through oneDNN:
    # three layers summing up to 1600 terms each, in each kernel's own order, a few ulps of
    # the terms' scale per layer. Allow 128 ulps of the outputs' largest magnitude (about 10),
    # computed from bench_conv's seeded net and batch (rng seed 0, padding 0, batch 2).
    rng = np.random.default_rng(0)
    net = scratch_net(0, rng)
    scale = float(np.abs(net(rng.standard_normal((2, 1, 28, 28)).astype(np.float32))).max())
    assert times["max |output difference|"] <= 128 * EPS32 * scale
    assert "ratio ours/peer" in report.format()
