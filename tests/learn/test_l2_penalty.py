from .helpers import planted_test

NAME = "l2-penalty"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("0.5 * weight_decay", "weight_decay", "the 1/2 is missing"),
    ("if is_decayed(k, p):", "if True:", "biases (1-D arrays) decayed too"),
    ("grads[k] = weight_decay * p", "grads[k] = 2 * weight_decay * p", "not 2 * weight_decay * W"),
    (
        "    return loss, grads",
        "    grads.update({k: np.zeros_like(p) for k, p in params.items() if k not in grads})\n"
        "    return loss, grads",
        "gradients returned for undecayed keys",
    ),
    ("if is_decayed(k, p):", "if p.ndim == 2:", "only 2-D arrays decayed"),
    (
        "grads[k] = weight_decay * p",
        "p *= weight_decay\n            grads[k] = p",
        "an in-place operation",
    ),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)
