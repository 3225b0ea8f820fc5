"""``dlf summary`` for every kind of model: the counts, the table and the diagram."""

from __future__ import annotations

import pytest

from dlf.cli import main
from dlf.gpt.configs import GPT_CONFIGS
from dlf.transformer.configs import TRANSFORMER_CONFIGS


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.slow
def test_gpt2_prints_the_released_count_and_a_diagram(capsys):
    status, out, _ = _run(capsys, "summary", "gpt2", "64")
    assert status == 0
    assert "Total params: 124,439,808" in out and "124,439,808 parameters (the same)" in out
    assert "12 × Block  (transformer.h.0 … transformer.h.11)" in out
    assert "[causal mask]" in out and "x + branch(x)" in out


def test_transformer_base_prints_its_count_with_its_vocabulary(capsys):
    status, out, _ = _run(capsys, "summary", "transformer-base", "8")
    assert status == 0
    assert "transformer-base: 63,082,496 parameters with one vocabulary of 37,000" in out
    assert "Total params: 63,082,496" in out and "6 × DecoderLayer" in out


def test_unknown_name_lists_every_valid_name_on_one_line(capsys):
    status, out, err = _run(capsys, "summary", "gpt3")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    for name in ["resnet18", *GPT_CONFIGS, *TRANSFORMER_CONFIGS]:
        assert name in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["summary", "gpt2", "2000"], "gpt2 takes 1 to 1024 tokens, not 2000"),
        (["summary", "gpt2", "3,224,224"], "takes a number of tokens T"),
        (["summary", "transformer-copy", "0"], "transformer-copy takes 1 to 36 tokens"),
    ],
)
def test_bad_lengths(argv, message, capsys):
    status, _, err = _run(capsys, *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_html_report_holds_the_diagram_and_the_table(tmp_path, capsys):
    page = tmp_path / "lenet5.html"
    status, out, _ = _run(capsys, "summary", "lenet5", "--html", str(page))
    text = page.read_text()
    assert status == 0 and f"report: {page}" in out
    assert text.count("<img") == 1 and "data:image/png;base64," in text
    assert "Total params: 61,706" in text


def test_html_into_a_missing_folder_is_refused_before_any_work(tmp_path, capsys):
    status, out, err = _run(capsys, "summary", "gpt2", "--html", str(tmp_path / "no" / "x.html"))
    assert status == 2 and out == "" and "does not exist" in err
    assert not (tmp_path / "no").exists()
