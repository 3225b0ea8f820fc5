from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "conv-naive"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("np.sum(window * w[f])", "np.sum(window * w[f, :, ::-1, ::-1])", "the kernel is flipped"),
    ("dx = dxp[:, :, pad : pad + H, pad : pad + W]", "dx = dxp", "dx has the padded shape"),
    ("db[f] += dout[n, f, i, j]", "db[f] = dout[n, f, i, j]", "db[f] = ... instead of db[f] +="),
    (  # the stride ignored everywhere in the forward pass: the output is too large
        "Ho = (H + 2 * pad - HH) // stride + 1\n    Wo = (W + 2 * pad - WW) // stride + 1",
        "Ho = H + 2 * pad - HH + 1\n    Wo = W + 2 * pad - WW + 1\n    stride = 1",
        "the output size is Ho = (H + 2*pad - HH) // stride + 1",
    ),
    (
        "window = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]",
        "window = xp[n, :, i : i + HH, j : j + WW]",
        "the stride is ignored: window (i, j) starts at (i*stride, j*stride)",
    ),
    ("dxp[n, :, rows, cols] += w[f]", "dxp[n, :, rows, cols] = w[f]", "= instead of +="),
    (
        "slice(i * stride, i * stride + HH)\n"
        "                    cols = slice(j * stride, j * stride + WW)",
        "slice(i, i + HH)\n                    cols = slice(j, j + WW)",
        "the stride is ignored: window (i, j) starts at (i*stride, j*stride)",
    ),
    ("np.sum(window * w[f]) + b[f]", "np.sum(window * w[f])", "the bias b[f] is not added"),
    ("dw[f] += xp[n, :, rows, cols]", "dw[f] = xp[n, :, rows, cols]", "= instead of +="),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_an_inconsistent_backward_fails_the_gradient_check(tmp_path):
    text = get_exercise(NAME).solution.replace("+= w[f] * dout", "+= 2 * w[f] * dout")
    grade = grade_text(NAME, text, tmp_path)
    failing = {c.what for c in grade.checks if not c.passed}
    assert "conv_backward_naive: dx (gradient check)" in failing
