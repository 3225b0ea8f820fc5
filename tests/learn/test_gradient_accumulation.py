from dlf.learn import get_exercise

from .helpers import planted_test

NAME = "gradient-accumulation"
BACKWARD = "            (loss / k).backward()\n"
RETURN = "    return total / k\n"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (BACKWARD, "            loss.backward()\n", "the loss of each micro-batch is not divided by k"),
    (
        BACKWARD,
        "            model.zero_grad()\n" + BACKWARD,
        "only the last micro-batch's gradient is left",
    ),
    (BACKWARD, "            (loss / len(x)).backward()\n", "divided by the micro-batch size"),
    (
        RETURN,
        "    with torch.no_grad():\n        for p in model.parameters():\n"
        "            p -= 0.1 * p.grad\n" + RETURN,
        "an optimizer step",
    ),
    (RETURN, "    return total\n", "the SUM of the k losses"),
    ("total + loss.detach().double().cpu()", "total + loss", "detach the losses"),
    (RETURN, "    return loss.detach()\n", "the loss of the last micro-batch only"),
    ("and m < k - 1", "and m < 0", "run micro-batches 0..k-2 inside `with model.no_sync():`"),
    ("and m < k - 1", "and m <= k - 1", "the last micro-batch ran inside no_sync too"),
    (
        "enumerate(micro_batches)",
        "enumerate(micro_batches[:1])",
        "only the first micro-batch ran",
    ),
]


def test_the_solution_is_dlfs_body():
    from dlf.gpt.train import accumulate_gradients
    from dlf.learn.module4.gradient_accumulation import STUB
    from dlf.learn.source import fill_bodies

    imported = fill_bodies(STUB, {"accumulate_gradients": accumulate_gradients})
    assert get_exercise(NAME).solution == imported


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)
