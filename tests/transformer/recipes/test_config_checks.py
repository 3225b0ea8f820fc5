"""Bad values stop a Module 3 recipe before any work: one line, exit 2, no run folder; a loss that
becomes NaN ends the run as diverged, exit 1."""

import json

import pytest

from dlf.cli import main

BAD = [
    ("transformer-copy", ["batch_size=0"], "batch_size must be >= 1, got 0"),
    ("transformer-copy", ["dropout=1.5"], "dropout must be >= 0 and < 1, got 1.5"),
    ("transformer-copy", ["lr=-1"], "lr must be > 0, got -1"),
    ("transformer-copy", ["d_model=30"], "d_model=30 must be divisible by n_heads=4"),
    ("transformer-copy", ["d_model=33", "n_heads=1"], "d_model must be even, got 33"),
    ("transformer-copy", ["positional=rope", "d_model=20"], "head dimension must be even"),
    ("transformer-copy", ["positional=alibi"], "known: none, sinusoidal, learned, rope"),
    ("transformer-copy", ["max_len=9", "long_len=9"], "min_len <= max_len < long_len"),
    ("transformer-tasks", ["steps=10,20,30"], "gives 3 values for 2 tasks"),
    ("transformer-tasks", ["tasks=reverse,sum"], "tasks: 'sum' is not known"),
    ("transformer-tasks", ["n_train=0"], "n_train must be >= 1, got 0"),
    ("positional-encodings", ["encodings=none,alibi"], "encodings: 'alibi' is not known"),
    ("positional-encodings", ["encodings=()"], "encodings is empty"),
    ("positional-encodings", ["min_len=7"], "min_len <= max_len < long_len"),
    ("rnn-vs-transformer", ["models=rnn,gru"], "models: 'gru' is not known"),
    ("rnn-vs-transformer", ["rnn_lr=0"], "rnn_lr must be > 0, got 0"),
    ("rnn-vs-transformer", ["gradient_len=1"], "gradient_len must be >= 2, got 1"),
]


@pytest.mark.parametrize(("recipe", "pairs", "message"), BAD)
def test_a_bad_value_is_one_line_exit_2_and_no_folder(tmp_path, capsys, recipe, pairs, message):
    status = main(["run", recipe, "--quick", *pairs, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("dlf: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not any(tmp_path.iterdir())


def test_a_nan_loss_ends_the_run_as_diverged(tmp_path, capsys):
    status = main(
        ["run", "transformer-copy", "--quick", "lr=1e30", "--quiet", "--runs-dir", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("dlf: diverged: the loss became nan at step") and err.count("\n") == 1
    (summary,) = tmp_path.glob("transformer-copy/*/summary.json")
    assert json.loads(summary.read_text())["status"] == "diverged"
