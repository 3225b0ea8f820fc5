"""``dlf run``, ``dlf sweep``, ``dlf list`` and ``dlf path``."""

from __future__ import annotations

import argparse
import json

from dlf.cli.errors import UsageError
from dlf.cli.paths import writable_folder
from dlf.cli.tools import parse_modules
from dlf.recipes import get_recipe, parse_overrides, recipe_names, run_recipe, sweep
from dlf.recipes.runner import is_main_process, resume_config


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="the quick setting (seconds)")
    parser.add_argument("--runs-dir", default="runs", help="root of run directories (runs)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


# Commands whose ``--help`` after a recipe name describes that recipe (their parsers are made
# without argparse's own -h, see dlf.cli.build_parser).
RECIPE_HELP = ("run", "sweep")
RUN_USAGE = (
    "dlf run RECIPE [--quick | --setting NAME | --resume RUN_DIR] [--runs-dir DIR] [--quiet] "
    "[key=value ...]"
)
SWEEP_USAGE = "dlf sweep RECIPE key=v1,v2 [key=a,b ...] [--quick] [--runs-dir DIR] [--quiet]"


def _recipe_argument(parser: argparse.ArgumentParser, usage: str) -> None:
    parser.add_argument("recipe", nargs="?", help="recipe name (see dlf list)")
    parser.add_argument(
        "-h",
        "--help",
        action="store_true",
        help="this help; after RECIPE: its keys, types, defaults and settings",
    )
    parser.usage = usage
    parser.set_defaults(command_help=parser.format_help, usage_line=usage)


def add_run(parser: argparse.ArgumentParser) -> None:
    _recipe_argument(parser, RUN_USAGE)
    parser.set_defaults(takes_pairs="key=value config overrides")
    _common(parser)
    parser.add_argument("--setting", default=None, help="a named setting of the recipe (dlf list)")
    parser.add_argument(
        "--resume", default=None, metavar="RUN_DIR", help="go on with a stopped run of the recipe"
    )


def add_sweep(parser: argparse.ArgumentParser) -> None:
    _recipe_argument(parser, SWEEP_USAGE)
    parser.set_defaults(takes_pairs="key=v1,v2 values to sweep")
    _common(parser)


def _help_or_recipe(args: argparse.Namespace) -> str | None:
    """Print the help asked for (the command's, or the recipe's) and return None; else the name.

    ``dlf run --help``: the command's options; ``dlf run NAME --help``: the recipe described by
    :func:`dlf.recipes.describe.describe` (keys, types, defaults, settings).
    """
    if args.help and args.recipe is None:
        print(args.command_help(), end="")
        return None
    if args.recipe is None:
        raise UsageError(f"{args.command}: the following arguments are required: recipe")
    if args.help:
        from dlf.recipes.describe import describe

        recipe = get_recipe(args.recipe)
        usage = args.usage_line.replace("RECIPE", recipe.name)
        print(f"usage: {usage}\n\n{describe(recipe)}")
        return None
    return args.recipe


def add_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--modules", default=None, help="comma-separated module numbers, e.g. 1,2")
    parser.add_argument("--workspace", default=None, help="a dlf learn workspace to report on")
    _common(parser)


def cmd_run(args: argparse.Namespace) -> int:
    name = _help_or_recipe(args)
    if name is None:
        return 0
    recipe = get_recipe(name)
    if args.resume and (args.quick or args.setting):
        raise UsageError("--resume takes the run's own config: give no --quick or --setting")
    if args.resume:
        config = resume_config(recipe, args.resume, parse_overrides(args.pairs))
    else:
        config = recipe.make_config(args.quick, parse_overrides(args.pairs), args.setting)
        writable_folder(args.runs_dir, "--runs-dir")
    run_dir, summary = run_recipe(recipe, config, args.runs_dir, args.quiet, args.resume)
    if is_main_process():  # under torchrun the other ranks' run folders are temporary
        print(json.dumps(summary, indent=2))
        print(f"report: {run_dir.path / 'report.html'}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    if _help_or_recipe(args) is None:
        return 0
    if not args.pairs:
        raise UsageError("sweep wants at least one key=v1,v2 to vary")
    writable_folder(args.runs_dir, "--runs-dir")
    sweep_dir = sweep(get_recipe(args.recipe), args.pairs, args.quick, args.runs_dir, args.quiet)
    print(f"report: {sweep_dir.path / 'report.html'}")
    return 0


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def cmd_list(args: argparse.Namespace) -> int:
    from dlf.bench import measured

    rows, machines = [], set()
    for name in recipe_names():
        r = get_recipe(name)
        cells = [name, str(r.module), r.description]
        for setting in ("quick", "full"):
            record = measured.recipe_record(name, setting)
            cells.append(_duration(record["seconds"] if record else None))
            if record:
                machines.add(f"{record['machine']['cpu']}, {record['machine']['date']}")
        rows.append(tuple(cells))
    headers = ("recipe", "module", "description", "quick", "full")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(5)]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    where = "; ".join(sorted(machines)) or "nowhere yet"
    print(f"quick/full: wall time measured by `dlf measure` ({where}); ?: not measured")
    for name in recipe_names():
        for setting, overrides in get_recipe(name).settings.items():
            pairs = " ".join(f"{k}={v}" for k, v in overrides.items())
            line = f"dlf run {name} --setting {setting}  ({pairs})"
            record = measured.recipe_record(name, setting)
            if record:
                shown = "; ".join(e["figure"] for e in record.get("effects", []))
                line += f"\n    measured {_duration(record['seconds'])}" + (
                    f": {shown}" if shown else ""
                )
            print(line)
    return 0


def add_measure(parser: argparse.ArgumentParser) -> None:
    parser.usage = "dlf measure [RECIPE ...] [--quick | --setting NAME] [--runs-dir DIR]"
    parser.add_argument("recipes", nargs="*", help="recipe names (default: every recipe)")
    _common(parser)
    parser.add_argument("--setting", default=None, help="a named setting of the recipes")


def cmd_measure(args: argparse.Namespace) -> int:
    """Run each recipe in one setting and record its seconds, figures and effects."""
    from dlf.bench import load_average, measured

    names = args.recipes or recipe_names()
    recipes = [get_recipe(name) for name in names]
    configs = [r.make_config(args.quick, None, args.setting) for r in recipes]
    writable_folder(args.runs_dir, "--runs-dir")
    setting = args.setting or ("quick" if args.quick else "full")
    failed = []
    for recipe, config in zip(recipes, configs, strict=True):
        before = load_average()
        try:
            run_dir, summary = run_recipe(recipe, config, args.runs_dir, args.quiet)
        except Exception as err:  # the others are still measured; the status says it failed
            print(f"{recipe.name}: not recorded: {type(err).__name__}: {err}")
            failed.append(recipe.name)
            continue
        measured.record_recipe(recipe.name, setting, summary, before)
        print(f"{recipe.name} ({setting}): {summary['seconds']:.1f} s, {summary['status']}")
    print(f"recorded in {measured.MEASURED}")
    return 1 if failed else 0


def cmd_path(args: argparse.Namespace) -> int:
    from dlf.path import run_path

    modules = parse_modules(args.modules)
    sections = []
    if args.workspace:
        from dlf.learn.report import path_section
        from dlf.learn.workspace import Workspace

        workspace = Workspace(args.workspace)
        if not workspace.exists():
            raise UsageError(f"no workspace at {args.workspace}: dlf learn init {args.workspace}")
        sections.append(lambda path_dir: path_section(path_dir, workspace, modules))
    writable_folder(args.runs_dir, "--runs-dir")
    path_dir, summary = run_path(args.quick, modules, args.runs_dir, args.quiet, sections)
    print(json.dumps(summary, indent=2))
    print(f"report: {path_dir.path / 'report.html'}")
    return 1 if summary["recipes_failed"] or summary["checkpoints_failed"] else 0
