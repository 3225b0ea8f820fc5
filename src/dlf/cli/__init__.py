"""The ``dlf`` command: it parses and dispatches; the work lives in the packages.

Bad arguments get one line on stderr, ``dlf: error: COMMAND: what is wrong``, and exit status 2;
a data set that cannot be had, exit 1; a run that diverged (NaN or infinite loss), one line
``dlf: diverged: ...`` and exit 1; Ctrl-C, exit 130 with the run directory closed; a reader
that closes the pipe early (``dlf list | head -1``), exit 141 with nothing on stderr, as a Unix
tool killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import os
import sys

from dlf.cli.commands import COMMANDS
from dlf.cli.errors import UsageError
from dlf.cli.run import RECIPE_HELP
from dlf.data import DataError
from dlf.learn.catalog import UnknownExercise
from dlf.learn.errors import WorkspaceError
from dlf.recipes import ConfigError, UnknownRecipe
from dlf.recipes.runner import SweepIncomplete
from dlf.runs import Diverged

BROKEN_PIPE = 128 + 13  # the status of a process killed by SIGPIPE, as the shell reports it


def _without_prog(text: str) -> str:
    """A message without a leading ``dlf`` (main adds ``dlf: error:`` once).

    Example: ``"dlf learn: argument ACTION: ..."`` -> ``"learn: argument ACTION: ..."``;
    ``"dlf: the following arguments are required: COMMAND"`` -> ``"the following ..."``.
    """
    for prefix in ("dlf: ", "dlf "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, never the usage dump
        # the command's words alone: "dlf learn {init,list,...} ... hint" -> "learn hint"
        words = [w for w in self.prog.split() if w != "dlf" and not set(w) & set("{[(.")]
        raise UsageError(f"{' '.join(words)}: {message}" if words else message)


class _Version(argparse.Action):
    """``dlf --version``: the installed package's version (pyproject.toml's in a bare tree)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, **kw):
        super().__init__(option_strings, dest, nargs=0, default=default, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        import dlf

        print(f"dlf {dlf.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dlf", description="Deep Learning Foundations, built and checked.")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        own_help = name in RECIPE_HELP  # `dlf run NAME --help` describes the recipe
        add_arguments(
            sub.add_parser(name, help=help_text, description=help_text, add_help=not own_help)
        )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse a command line; ``key=value`` words go to ``args.pairs`` for run and sweep.

    They may stand anywhere after the command, among the options (``run NAME --quick lr=0.1``).
    """
    args, extra = build_parser().parse_known_args(argv)
    if getattr(args, "takes_pairs", None) is None and extra:
        raise UsageError(f"{args.command}: unrecognized arguments: {' '.join(extra)}")
    bad = [word for word in extra if "=" not in word or word.startswith("-")]
    if bad:
        raise UsageError(f"{args.command}: expected {args.takes_pairs}, got {bad[0]!r}")
    args.pairs = extra
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    try:
        args = parse_args(argv)
        status = COMMANDS[args.command][2](args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not at exit as an ignored exception
        return status
    except (UsageError, ConfigError, UnknownRecipe, UnknownExercise) as err:
        print(f"dlf: error: {_without_prog(str(err))}", file=sys.stderr)
        return 2
    except (DataError, WorkspaceError, SweepIncomplete) as err:
        print(f"dlf: error: {_without_prog(str(err))}", file=sys.stderr)
        return 1
    except Diverged as err:
        print(f"dlf: diverged: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dlf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader has gone (`dlf list | head -1`): the Python documentation's recipe (see
        # "Note on SIGPIPE" in the signal module): point stdout at devnull so that the flush at
        # exit cannot fail again, and end quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
