"""im2col and col2im: convolution as one matrix product (Chellapilla et al., 2006; CS231n).

A 2-D convolution slides a ``kh x kw`` window over a zero-padded image. ``im2col`` lays every
window out as one row of a matrix, so that the convolution of all ``N`` images with all ``O``
filters becomes a single product

    out[(n, p, q), o] = sum_{(i, j, c)} cols[(n, p, q), (i, j, c)] * W[o, c, i, j]

with ``cols`` of shape ``(N * Ho * Wo, kh * kw * C)``. ``col2im`` is its adjoint: it adds each
row of a column matrix back onto the pixels its window came from, which is what the backward pass
of a convolution (and of pooling) needs.

Sizes follow the usual rule ``Ho = (H + 2 * padding - kh) // stride + 1`` (and ``Wo`` alike).

Memory layout. Columns are ordered ``(i, j, c)``, channel fastest, and the images are read
channels-last (``N, H, W, C`` in memory): then every copy below moves runs of ``C`` contiguous
numbers instead of single scattered ones. With fewer than ``MIN_CHANNELS_ROW_MAJOR`` channels
those runs are too short, and :func:`empty_cols` stores the matrix column-major instead (runs
along the image width). The functions take and return arrays indexed ``(N, C, H, W)`` like
PyTorch; ``col2im`` returns such a view of channels-last memory (as PyTorch's ``channels_last``
format does). Values and indexing are the same whatever the memory order.

No Python loop runs over images, channels or pixels: the windows are a strided view of the padded
image (``np.lib.stride_tricks.sliding_window_view``); ``col2im`` loops over the ``kh * kw`` kernel
offsets only, each a strided add of a whole ``(N, Ho, Wo, C)`` block.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pair = int | tuple[int, int]

MIN_CHANNELS_ROW_MAJOR = 4


def pair(v: Pair) -> tuple[int, int]:
    """An int or a pair of ints as a pair: ``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``."""
    if isinstance(v, int | np.integer):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pooling along one axis: ``(size + 2p - k) // s + 1``.

    Example: ``conv_output_size(28, 3)`` -> 26, ``conv_output_size(28, 3, 2, 1)`` -> 14,
    ``conv_output_size(13, 2, 2)`` -> 6 (the last row is dropped, as in PyTorch).
    """
    if kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(
            f"need kernel >= 1, stride >= 1 and padding >= 0, got kernel={kernel}, "
            f"stride={stride}, padding={padding}"
        )
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(
            f"input of size {size} (padding {padding}) is smaller than the kernel ({kernel}): "
            "use a larger input, more padding or a smaller kernel"
        )
    return out


def pad_channels_last(x: np.ndarray, padding: Pair = 0) -> np.ndarray:
    """Zero-pad the two spatial axes of ``x`` (N, C, H, W); returns (N, H + 2ph, W + 2pw, C).

    The result is a new channels-last array, so that windows read ``C`` contiguous numbers. With
    no padding it is ``x.transpose(0, 2, 3, 1)``, a view (no copy).
    Example: ``pad_channels_last(np.ones((1, 1, 2, 2)), 1)[0, :, :, 0]`` ->
    ``[[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]``.
    """
    ph, pw = pair(padding)
    xt = x.transpose(0, 2, 3, 1)
    if ph == 0 and pw == 0:
        return xt
    n, h, w, c = xt.shape
    xp = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    xp[:, ph : ph + h, pw : pw + w, :] = xt
    return xp


def sliding_windows(
    xp: np.ndarray, kernel_size: Pair, stride: Pair = 1, writeable: bool = False
) -> np.ndarray:
    """Every ``kh x kw`` window of a channels-last image batch, as a strided view (no copy).

    ``xp`` (N, H, W, C) -> windows (N, Ho, Wo, kh, kw, C) with
    ``windows[n, p, q, i, j, c] = xp[n, p * sh + i, q * sw + j, c]``. ``writeable=True`` returns a
    view one may add into (used by ``col2im``; windows overlap when ``stride < kernel``, so write
    one kernel offset ``[:, :, :, i, j]`` at a time).
    Example: for ``xp`` of shape (2, 5, 5, 3), ``sliding_windows(xp, 3, 2).shape`` ->
    (2, 2, 2, 3, 3, 3).
    """
    kh, kw = pair(kernel_size)
    sh, sw = pair(stride)
    conv_output_size(xp.shape[1], kh, sh)  # raises a clear error when the kernel does not fit
    conv_output_size(xp.shape[2], kw, sw)
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2), writeable=writeable)
    return win[:, ::sh, ::sw].transpose(0, 1, 2, 4, 5, 3)


def empty_cols(rows: int, cols: int, channels: int, dtype: np.dtype | type) -> np.ndarray:
    """An uninitialised (rows, cols) matrix in the memory order that makes im2col's copy fast.

    Row-major when the image has at least ``MIN_CHANNELS_ROW_MAJOR`` channels (a window row is a
    run of ``kw * C`` numbers); otherwise column-major, i.e. the transpose of a row-major
    (cols, rows) array, so that the copy moves long runs along the image width, not C numbers.
    Example: ``empty_cols(676, 9, 1, np.float32).flags.f_contiguous`` -> True.
    """
    if channels >= MIN_CHANNELS_ROW_MAJOR:
        return np.empty((rows, cols), dtype=dtype)
    return np.empty((cols, rows), dtype=dtype).T


def im2col(
    x: np.ndarray,
    kernel_size: Pair,
    stride: Pair = 1,
    padding: Pair = 0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Windows of ``x`` (N, C, H, W) as rows: ``cols`` (N * Ho * Wo, kh * kw * C).

    ``cols[(n, p, q), (i, j, c)] = xpad[n, c, p * sh + i, q * sw + j]`` with ``xpad`` the input
    zero-padded by ``padding`` on each side; rows ordered ``(n, p, q)``, columns ``(i, j, c)``.
    ``out``, when given, is an array of that shape and dtype to write into (reused across calls
    to spare the allocation; it may be a column slice of a wider buffer, in either memory order).
    One copy from a strided view; no Python loop.
    Example: ``x = np.arange(9.).reshape(1, 1, 3, 3)``; ``im2col(x, 2)`` ->
    ``[[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]``.
    """
    win = sliding_windows(pad_channels_last(x, padding), kernel_size, stride)
    n, ho, wo, kh, kw, c = win.shape
    shape = (n * ho * wo, kh * kw * c)
    if out is None:
        out = empty_cols(*shape, c, x.dtype)
    elif out.shape != shape or out.dtype != x.dtype:
        raise ValueError(
            f"im2col out must be a {x.dtype} array of shape {shape}, got {out.dtype} {out.shape}"
        )
    out6 = out.reshape(win.shape)
    if not np.may_share_memory(out6, out):
        raise ValueError("im2col out must be a strided view of one buffer (e.g. buffer[:, :K])")
    out6[...] = win
    return out


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: Pair,
    stride: Pair = 1,
    padding: Pair = 0,
) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every row of ``cols`` back onto its window's pixels.

    ``cols`` (N * Ho * Wo, kh * kw * C) -> ``dx`` (N, C, H, W), where ``x_shape`` = (N, C, H, W)
    is the shape of the image that ``im2col`` read. ``cols`` may also be given as an array
    broadcastable to (N, Ho, Wo, kh, kw, C) (pooling passes a broadcast view, never copied), and

        dx[n, c, y, x] = sum over windows (n, p, q) and offsets (i, j) with
                         p * sh + i - ph = y and q * sw + j - pw = x  of  cols[(n, p, q), (i, j, c)]

    so ``<im2col(x), cols> == <x, col2im(cols)>``. Returns an (N, C, H, W) view of channels-last
    memory. Loops over the ``kh * kw`` kernel offsets only.
    Example: ``col2im(np.ones((4, 4)), (1, 1, 3, 3), 2)[0, 0]`` ->
    ``[[1, 2, 1], [2, 4, 2], [1, 2, 1]]`` (how many windows cover each pixel).
    """
    n, c, h, w = x_shape
    kh, kw = pair(kernel_size)
    ph, pw = pair(padding)
    dxp = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=cols.dtype)
    win = sliding_windows(dxp, (kh, kw), stride, writeable=True)
    ho, wo = win.shape[1], win.shape[2]
    if cols.shape == (n * ho * wo, kh * kw * c):
        c6 = cols.reshape(n, ho, wo, kh, kw, c)
    else:
        try:
            c6 = np.broadcast_to(cols, win.shape)
        except ValueError:
            raise ValueError(
                f"col2im expects cols of shape {(n * ho * wo, kh * kw * c)} (or broadcastable to "
                f"{win.shape}) for an input of shape {tuple(x_shape)}, kernel {(kh, kw)}, "
                f"stride {pair(stride)}, padding {(ph, pw)}; got {cols.shape}"
            ) from None
    for i in range(kh):
        for j in range(kw):
            win[:, :, :, i, j] += c6[:, :, :, i, j]
    return dxp[:, ph : ph + h, pw : pw + w, :].transpose(0, 3, 1, 2)
