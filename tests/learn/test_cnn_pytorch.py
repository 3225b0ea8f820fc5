from dlf.data import DataError
from dlf.learn import get_exercise

from .helpers import grade_text, plant, planted_test

NAME = "cnn-pytorch"
LAST = "        nn.Linear(16 * 7 * 7, num_classes),\n    )"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (LAST, LAST.replace("),\n", "),\n        nn.Softmax(dim=1),\n"), "don't apply softmax"),
    (LAST, LAST.replace("),\n", "),\n        nn.Sigmoid(),\n"), "a sigmoid at the end"),
    (LAST, LAST.replace("),\n", "),\n        nn.ReLU(),\n"), "an activation (ReLU?) after the"),
    (
        "nn.Linear(16 * 7 * 7, num_classes)",
        "nn.Linear(16 * 7 * 7, 10)",
        "the last nn.Linear must have num_classes outputs",
    ),
    ("        nn.Flatten(),\n", "", "nn.Flatten() must come before the first nn.Linear"),
    ("nn.Linear(16 * 7 * 7,", "nn.Linear(16 * 8 * 8,", "the first nn.Linear gets 784 features"),
    ("return nn.Sequential(", "return nn.Sequential\n    (", "return the network"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_network_that_does_not_learn_is_near_chance(needs_mnist, tmp_path):
    frozen = LAST + (
        "\n    for p in model.parameters():\n        if p.dim() > 1:\n"
        "            p.requires_grad_(False)\n    return model"
    )
    text = plant(NAME, LAST, frozen).replace("return nn.Sequential(", "model = nn.Sequential(")
    grade = grade_text(NAME, text, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert [c.what for c in failing] == ["test accuracy on 500 held-out images >= 90%"]
    assert "the loss did not fall" in failing[0].diagnosis


def test_a_frozen_network_is_named(tmp_path):
    frozen = LAST + "\n    model.requires_grad_(False)\n    return model"
    text = plant(NAME, LAST, frozen).replace("return nn.Sequential(", "model = nn.Sequential(")
    grade = grade_text(NAME, text, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert [c.what for c in failing] == ["the model has parameters that learn"]


def test_missing_mnist_is_said_in_one_line(monkeypatch, tmp_path):
    def missing(*args, **kwargs):
        raise DataError("data set 'mnist' not found: set DLF_DATA")

    monkeypatch.setattr("dlf.cnn.data.image_tensors", missing)
    grade = grade_text(NAME, get_exercise(NAME).solution, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert [c.what for c in failing] == ["MNIST is available"]
    assert failing[0].detail == "data set 'mnist' not found: set DLF_DATA"
