"""The command line's tools: layer tables, receptive fields, tokenizers, gradcheck."""

from __future__ import annotations

import json

import pytest

from dlf.cli import main
from tests.conftest import data_available


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_summary_prints_the_reference_totals(capsys):
    status, out, _ = _run(capsys, "summary", "resnet18")
    assert status == 0
    assert "Total params: 11,689,512" in out and "1.814 G" in out


def test_summary_with_another_input_shape(capsys):
    status, out, _ = _run(capsys, "summary", "resnet20", "1,28,28")
    assert status == 0 and "1x16x28x28" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["summary", "resnet9000"], "no model named 'resnet9000'"),
        (["summary", "resnet18", "3,x,2"], "shape wants C,H,W"),
        (["summary", "resnet18", "3,2"], "three numbers"),
        (["bench", "nothing"], "no benchmark named 'nothing'"),
        (["tokenizer", "train", "--out", "t.json", "--vocab-size", "10"], "at least 256"),
    ],
)
def test_bad_tool_arguments(argv, message, capsys):
    status, _, err = _run(capsys, *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_receptive_field_of_vgg16(capsys):
    status, out, _ = _run(capsys, "receptive-field", "vgg16")
    assert status == 0
    assert out.strip().splitlines()[-1].split()[-2] == "212"  # the last pool of VGG-16


def test_gradcheck_passes_and_says_so(capsys):
    status, out, _ = _run(capsys, "gradcheck")
    assert status == 0 and "0 failed" in out and "Linear" in out


def test_tokenizer_train_and_encode(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat; the cat ate the hat. " * 50)
    out_file = tmp_path / "tok.json"
    status, _, _ = _run(capsys, "tokenizer", "train", "--data", str(text), "--vocab-size", "270",
                        "--out", str(out_file))  # fmt: skip
    assert status == 0 and json.loads(out_file.read_text())
    status, out, _ = _run(capsys, "tokenizer", "encode", "the cat", "--tokenizer", str(out_file))
    assert status == 0 and "7 bytes ->" in out


def test_tokenizer_gpt2_encoding(capsys):
    if not data_available("gpt2"):
        pytest.skip("GPT-2 files not in $DLF_DATA")
    status, out, _ = _run(capsys, "tokenizer", "encode", "Hello world")
    assert status == 0 and out.splitlines()[0] == "[15496, 995]"


def test_every_benchmark_of_the_issues_is_registered():
    import importlib

    from dlf.cli.commands import COMMANDS
    from dlf.cli.tools import BENCHES

    assert set(BENCHES) == {"mlp", "conv", "bpe", "gpt", "gpt-quality", "numpy-gpt", "load"}
    assert "|".join(BENCHES) in COMMANDS["bench"][0]  # the help names every one
    for target in BENCHES.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_bench_gpt_runs_from_the_command_line(capsys):
    args = ("n_layer=1", "n_head=2", "n_embd=16", "block_size=8", "batch_size=2",
            "vocab_size=11", "train_steps=2", "new_tokens=12", "repeats=1")  # fmt: skip
    status, out, _ = _run(capsys, "bench", "gpt", *args)
    assert status == 0 and "speed-up of the KV cache" in out and "plain PyTorch GPT" in out
