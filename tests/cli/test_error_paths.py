"""Every error of the command line is one line, never a traceback, and leaves nothing written:
sampling values, tokenizer files and patterns, output paths, module numbers, and a sweep
whose second run fails (the report of the others is still written)."""

from __future__ import annotations

import json

import pytest

from dlf.recipes import register
from tests.cli.helpers import one_line, run_dlf
from tests.toy_recipe import RECIPE as TOY


def _files(folder) -> list:
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--temperature", "nan", "--temperature: must be a finite number, got 'nan'"),
        ("--temperature", "inf", "must be a finite number"),
        ("--repetition-penalty", "nan", "--repetition-penalty: must be a finite number"),
        ("--length-penalty", "-inf", "--length-penalty: must be a finite number"),
        ("--top-p", "nan", "--top-p: must be a finite number"),
        ("--temperature", "warm", "expected a number, got 'warm'"),
        ("--max-new-tokens", "1000000000000", "--max-new-tokens: at most 10,000,000"),
        ("--beam-width", "1000000000", "--beam-width: at most 1,000"),
        ("--max-new-tokens", "many", "invalid int value: 'many'"),
    ],
)
def test_sampling_values_are_checked_when_parsed(capsys, tmp_path, option, value, words):
    status, out, err = run_dlf(capsys, "sample", tmp_path / "no-run-needed", f"{option}={value}")
    assert status == 2 and words in one_line(err) and out == ""


TOKENIZER_FILES = {
    "not JSON": ("{bad", "is not a JSON file"),
    "not UTF-8": (b"\xff\xfe{", "is not a JSON file"),
    "a list": ("[1, 2]", "is not a BPETokenizer file"),
    "no vocabulary": ('{"format": "dlf.gpt.tokenizer.BPETokenizer", "version": 1}', "'vocab'"),
    "a number for a token": (
        '{"format": "dlf.gpt.tokenizer.BPETokenizer", "version": 1, "vocab": [1], '
        '"merges": [], "pattern": null, "special_tokens": {}}',
        "tok.json:",
    ),
}


@pytest.mark.parametrize("kind", list(TOKENIZER_FILES))
def test_tokenizer_encode_with_a_bad_file(capsys, tmp_path, kind):
    content, words = TOKENIZER_FILES[kind]
    path = tmp_path / "tok.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    status, _, err = run_dlf(capsys, "tokenizer", "encode", "hi", "--tokenizer", path)
    line = one_line(err)
    assert status == 1 and words in line and str(path) in line


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("Hello, world! Hello there, world! " * 20)
    return path


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--pattern", "("], "--pattern: split pattern '(' is neither a known name"),
        (["--pattern", r"(\w+)|\W+"], "has a capturing group"),
        (["--pattern", r"\w+"], r"split pattern '\w+' loses text: no match covers ', '"),
        (["--pattern", r"\w+|\s+"], "loses text: no match covers ','"),
        (["--out", "{tmp}/outdir"], "is a folder: give a file name"),
        (["--out", "{tmp}/afile/tok.json"], "is a file, not a folder"),
    ],
)
def test_tokenizer_train_refuses_before_training(capsys, tmp_path, text, args, words):
    (tmp_path / "outdir").mkdir()
    (tmp_path / "afile").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "tok.json")]
    before = _files(tmp_path)
    status, out, err = run_dlf(capsys, "tokenizer", "train", "--data", text, "--vocab-size", "260",
                            *args)  # fmt: skip
    assert status == 2 and words in one_line(err) and out == ""
    assert _files(tmp_path) == before


def test_a_pattern_that_covers_the_text_trains(capsys, tmp_path, text):
    out_file = tmp_path / "tok.json"
    argv = ["tokenizer", "train", "--data", text, "--vocab-size", "260", "--out", out_file,
            "--pattern", r"\w+|\s+|[^\w\s]+"]  # fmt: skip
    assert run_dlf(capsys, *argv)[0] == 0
    status, out, _ = run_dlf(
        capsys, "tokenizer", "encode", "Hello, world!", "--tokenizer", out_file
    )
    ids = json.loads(out.splitlines()[0])
    assert status == 0 and out.splitlines()[1].replace(" | ", "") == "Hello, world!"
    assert len(ids) < len("Hello, world!")


@pytest.mark.parametrize("command", [["run", "toy", "--quick"], ["sweep", "toy", "lr=0.1,0.2"],
                                     ["path", "--modules", "1"]])  # fmt: skip
def test_runs_dir_that_is_a_file(capsys, tmp_path, command):
    register(TOY)
    not_a_folder = tmp_path / "passwd"
    not_a_folder.write_text("root:x:0:0\n")
    for runs_dir in (not_a_folder, not_a_folder / "runs"):
        status, _, err = run_dlf(capsys, *command, "--runs-dir", runs_dir)
        assert status == 2 and "is a file, not a folder" in one_line(err)
    assert _files(tmp_path) == [not_a_folder.relative_to(tmp_path)]


@pytest.mark.parametrize(
    ("modules", "words"),
    [("9", "no path module 9; the path has modules 1 to 4"), ("0,1", "no path module 0"),
     (",", "--modules wants numbers like 1,2"), ("two", "--modules wants numbers like 1,2")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["path", "checkpoints"])
def test_modules_must_be_modules_of_the_path(capsys, tmp_path, command, modules, words):
    extra = ["--runs-dir", tmp_path / "runs"] if command == "path" else []
    status, out, err = run_dlf(capsys, command, "--modules", modules, *extra)
    assert status == 2 and words in one_line(err) and out == ""
    assert not (tmp_path / "runs").exists()


def test_a_sweep_whose_second_run_fails_still_reports_the_others(capsys, tmp_path):
    register(TOY)
    argv = ["sweep", "toy", "--quick", "sleep=0,-1,0", "--runs-dir", tmp_path, "--quiet"]
    status, _, err = run_dlf(capsys, *argv)
    line = one_line(err)
    assert status == 1
    assert "1 of 3 runs of the sweep did not finish" in line and "sleep=-1: ValueError" in line
    (sweep_dir,) = (tmp_path / "sweeps" / "toy").iterdir()
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert len(summary["runs"]) == 2 and list(summary["runs_failed"]) == ["sleep=-1"]
    assert str(sweep_dir / "report.html") in line
    page = (sweep_dir / "report.html").read_text()
    assert "Runs that did not finish" in page and "sleep=0" in page
    statuses = sorted(json.loads((d / "summary.json").read_text())["status"]
                      for d in (tmp_path / "toy").iterdir())  # fmt: skip
    assert statuses == ["completed", "completed", "failed"]
