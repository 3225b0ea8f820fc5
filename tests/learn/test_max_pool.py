from .helpers import planted_test

NAME = "max-pool"

FIRST_MAX = (
    "                    u, v = np.unravel_index(np.argmax(window), window.shape)\n"
    "                    dx[n, c, hs + u, ws + v] += dout[n, c, i, j]"
)

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        FIRST_MAX,
        "                    dx[n, c, hs : hs + pool_height, ws : ws + pool_width] += (\n"
        "                        window == window.max()\n"
        "                    ) * dout[n, c, i, j]",
        "the gradient goes to every tied maximum",
    ),
    (
        FIRST_MAX,
        "                    dx[n, c, hs : hs + pool_height, ws : ws + pool_width] += dout[\n"
        "                        n, c, i, j\n"
        "                    ] / (pool_height * pool_width)",
        "that is average pooling",
    ),
    ("dx[n, c, hs + u, ws + v] += dout", "dx[n, c, hs + u, ws + v] = dout", "= instead of +="),
    (
        "Ho = (H - pool_height) // stride + 1\n    Wo = (W - pool_width) // stride + 1\n    out",
        "Ho = H - pool_height + 1\n    Wo = W - pool_width + 1\n    stride = 1\n    out",
        "the stride is ignored: the output size is Ho = (H - pool_height) // stride + 1",
    ),
    (
        "hs, ws = i * stride, j * stride\n                    window",
        "hs, ws = i, j\n                    window",
        "the stride is ignored: window (i, j) starts at (i*stride, j*stride)",
    ),
    (
        "np.argmax(window), window.shape)",
        "np.argmax(window[::-1, ::-1]), window.shape)\n"
        "                    u, v = pool_height - 1 - u, pool_width - 1 - v",
        "the gradient goes to the LAST of tied maxima",
    ),
    ("np.max(x[n, c,", "np.mean(x[n, c,", "average pooling): take its maximum"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)
