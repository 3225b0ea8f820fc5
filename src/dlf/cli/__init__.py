"""The ``dlf`` command: it parses and dispatches; the work lives in the packages.

Bad arguments get one line on stderr and exit status 2; a data set that cannot be had, exit 1;
Ctrl-C, exit 130 with the run directory closed.
"""

from __future__ import annotations

import argparse
import sys

from dlf.cli.commands import COMMANDS
from dlf.cli.errors import UsageError
from dlf.data import DataError
from dlf.learn.catalog import UnknownExercise
from dlf.learn.errors import WorkspaceError
from dlf.recipes import ConfigError, UnknownRecipe


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, never the usage dump
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dlf", description="Deep Learning Foundations, built and checked.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse a command line; ``key=value`` words go to ``args.pairs`` for run and sweep.

    They may stand anywhere after the command, among the options (``run NAME --quick lr=0.1``).
    """
    args, extra = build_parser().parse_known_args(argv)
    if getattr(args, "takes_pairs", None) is None and extra:
        raise UsageError(f"dlf {args.command}: unrecognized arguments: {' '.join(extra)}")
    bad = [word for word in extra if "=" not in word or word.startswith("-")]
    if bad:
        raise UsageError(f"dlf {args.command}: expected {args.takes_pairs}, got {bad[0]!r}")
    args.pairs = extra
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    try:
        args = parse_args(argv)
        return COMMANDS[args.command][2](args) or 0
    except (UsageError, ConfigError, UnknownRecipe, UnknownExercise) as err:
        print(f"dlf: error: {err}", file=sys.stderr)
        return 2
    except (DataError, WorkspaceError) as err:
        print(f"dlf: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dlf: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
