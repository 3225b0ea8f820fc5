from .helpers import planted_test

NAME = "batchnorm"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "var = np.mean(xc * xc, axis=axes)",
        "var = np.sum(xc * xc, axis=axes) / (m - 1)",
        "the unbiased variance (divide by N - 1) used to normalise",
    ),
    (
        "rv += self.momentum * var * (m / (m - 1))",
        "rv += self.momentum * var",
        "running_var stores the biased variance",
    ),
    (
        "rm *= 1 - self.momentum\n            rm += self.momentum * mu",
        "rm *= self.momentum\n            rm += (1 - self.momentum) * mu",
        "momentum the wrong way round",
    ),
    ("rm += self.momentum * mu", "rm = rm + self.momentum * mu", "not updated (or not in place)"),
    ("if not training:", "if True:", "mean and variance treated as constants"),
    (
        "if self.training:\n            m = ",
        "if True:\n            m = ",
        "evaluation uses the batch statistics",
    ),
    (
        'np.sum(dout * xhat, axis=axes, out=self.grads["gamma"])',
        'self.grads["gamma"] = np.sum(dout * xhat, axis=axes)',
        "write into the array the layer holds",
    ),
    (
        "return (g - mean_g - xhat * mean_gx) * inv_std.reshape(shape)",
        "return (g - xhat * mean_gx) * inv_std.reshape(shape)",
        "the mean's term is missing",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)
