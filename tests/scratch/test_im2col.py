import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import col2im, im2col
from dlf.scratch.im2col import (
    MIN_CHANNELS_ROW_MAJOR,
    conv_output_size,
    empty_cols,
    pad_channels_last,
    sliding_windows,
)

# (N, C, H, W, kernel, stride, padding)
CASES = [
    (1, 1, 3, 3, 2, 1, 0),
    (2, 3, 7, 6, 3, 1, 1),
    (3, 2, 9, 8, (3, 2), 2, (1, 0)),
    (2, 4, 5, 5, 1, 1, 0),
    (2, 1, 10, 9, 4, 3, 2),
    (1, 5, 8, 11, (2, 5), (3, 1), (0, 2)),
]


def _unfold_as_ours(x, kernel, stride, padding):
    """torch's unfold (N, C*kh*kw, L), columns (c, i, j) -> ours (N*L, kh*kw*C), (i, j, c)."""
    cols = F.unfold(torch.from_numpy(x), kernel, padding=padding, stride=stride).numpy()
    n, c = x.shape[:2]
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    cols = cols.reshape(n, c, kh, kw, -1).transpose(0, 4, 2, 3, 1)
    return cols.reshape(-1, kh * kw * c)


@pytest.mark.parametrize("case", CASES)
def test_im2col_matches_torch_unfold(case):
    n, c, h, w, k, s, p = case
    x = np.random.default_rng(0).standard_normal((n, c, h, w))
    np.testing.assert_array_equal(im2col(x, k, s, p), _unfold_as_ours(x, k, s, p))


@pytest.mark.parametrize("case", CASES)
def test_col2im_is_the_adjoint_and_matches_torch_fold(case):
    n, c, h, w, k, s, p = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w))
    cols = im2col(x, k, s, p)
    r = rng.standard_normal(cols.shape)
    back = col2im(r, x.shape, k, s, p)
    assert back.shape == x.shape
    # <im2col(x), r> == <x, col2im(r)>
    np.testing.assert_allclose(np.sum(cols * r), np.sum(x * back), rtol=1e-12)
    kh, kw = (k, k) if isinstance(k, int) else k
    r_torch = r.reshape(n, -1, kh, kw, c).transpose(0, 4, 2, 3, 1).reshape(n, c * kh * kw, -1)
    ref = F.fold(torch.from_numpy(r_torch), (h, w), k, padding=p, stride=s).numpy()
    np.testing.assert_allclose(back, ref, atol=1e-12)


def test_docstring_examples_and_buffers():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(
        im2col(x, 2), [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
    )
    np.testing.assert_array_equal(
        col2im(np.ones((4, 4)), (1, 1, 3, 3), 2)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    )
    assert pad_channels_last(np.ones((1, 1, 2, 2)), 1)[0, :, :, 0].sum() == 4
    assert sliding_windows(np.zeros((2, 5, 5, 3)), 3, 2).shape == (2, 2, 2, 3, 3, 3)
    assert [conv_output_size(28, 3), conv_output_size(28, 3, 2, 1)] == [26, 14]
    assert conv_output_size(13, 2, 2) == 6
    # writing into a column slice of a wider buffer (Conv2d's column of ones for the bias)
    buf = np.full((4, 5), 7.0)
    im2col(x, 2, out=buf[:, :4])
    np.testing.assert_array_equal(buf[:, 4], 7.0)
    np.testing.assert_array_equal(buf[:, :4], im2col(x, 2))
    for channels in (1, 3, 4, 8):  # column-major below MIN_CHANNELS_ROW_MAJOR, else row-major
        cols = empty_cols(12, 5, channels, np.float32)
        assert cols.shape == (12, 5)
        assert cols.flags.f_contiguous == (channels < MIN_CHANNELS_ROW_MAJOR)
    xc = np.random.default_rng(2).standard_normal((2, 2, 5, 4))
    fbuf = np.full((19, 2 * 3 * 2), 7.0).T  # a column-major (12, 19) matrix
    im2col(xc, 3, out=fbuf[:, :18])
    np.testing.assert_array_equal(fbuf[:, :18], im2col(xc, 3))
    np.testing.assert_array_equal(fbuf[:, 18], 7.0)


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="smaller than the kernel"):
        im2col(np.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match="shape"):
        im2col(np.zeros((1, 1, 3, 3)), 2, out=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="col2im expects cols"):
        col2im(np.zeros((5, 4)), (1, 1, 3, 3), 2)
