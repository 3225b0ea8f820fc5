"""What the command-line tests share: run ``dlf`` in-process, and read its one-line error."""

from __future__ import annotations

from dlf.cli import main


def run_dlf(capsys, *argv) -> tuple[int, str, str]:
    """``dlf ARGV`` in this process: (exit status, stdout, stderr); paths may be given as Paths."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    """The single line of an error output (fails the test on a traceback or several lines)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
