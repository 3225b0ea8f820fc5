"""``dlf learn``: write the pieces yourself and have them graded (init, list, check, watch, ...)."""

from __future__ import annotations

import argparse
import json

from dlf.cli.errors import UsageError

ACTIONS = {
    "init": "write a workspace of exercise stubs: dlf learn init [DIR]",
    "list": "every exercise, its module and its state",
    "check": "grade exercises: dlf learn check [NAME ...] (default: every one you started)",
    "watch": "grade the current exercise on every save, then move to the next",
    "hint": "the next hint for an exercise: dlf learn hint NAME",
    "solution": "print the reference solution of an exercise (noted in your progress)",
    "solve": "write reference solutions into the workspace: dlf learn solve NAME ...|--all",
    "report": "write an HTML page of your progress (DIR/report.html)",
}


def add_learn(parser: argparse.ArgumentParser) -> None:
    from dlf.learn.workspace import DEFAULT_DIR

    parser.usage = "dlf learn {" + ",".join(ACTIONS) + "} ..."
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    for action, help_text in ACTIONS.items():
        p = sub.add_parser(action, help=help_text, description=help_text)
        if action == "init":
            p.add_argument("dir", nargs="?", default=DEFAULT_DIR, help=f"({DEFAULT_DIR})")
            continue
        p.add_argument("--dir", default=DEFAULT_DIR, help=f"the workspace ({DEFAULT_DIR})")
        if action in ("check", "solve"):
            p.add_argument("names", nargs="*", metavar="NAME", help="exercise names")
        if action in ("hint", "solution"):
            p.add_argument("name", metavar="NAME", help="exercise name (dlf learn list)")
        if action in ("list", "check"):
            p.add_argument("--json", action="store_true", help="machine-readable output")
        if action in ("check", "watch"):
            p.add_argument("--timeout", type=float, default=None, help="seconds per exercise")
        if action == "solve":
            p.add_argument("--all", action="store_true", help="every exercise")
            p.add_argument("--force", action="store_true", help="replace your own work too")


def _workspace(args: argparse.Namespace, must_exist: bool = True):
    from dlf.learn.workspace import Workspace

    workspace = Workspace(args.dir)
    if must_exist and not workspace.exists():
        raise UsageError(f"no workspace at {args.dir}: run `dlf learn init {args.dir}` first")
    return workspace


def cmd_learn(args: argparse.Namespace) -> int:
    from dlf.learn import get_exercise

    for name in getattr(args, "names", []) + [getattr(args, "name", None)]:
        if name is not None:
            get_exercise(name)  # an unknown name is a usage error before any work
    return {
        "init": _init,
        "list": _list,
        "check": _check,
        "watch": _watch,
        "hint": _hint,
        "solution": _solution,
        "solve": _solve,
        "report": _report,
    }[args.action](args)


def _init(args: argparse.Namespace) -> int:
    from dlf.learn.workspace import Workspace

    workspace = Workspace(args.dir)
    if workspace.root.exists() and not workspace.root.is_dir():
        raise UsageError(f"{args.dir} is a file, not a folder")
    written = workspace.init()
    print(f"{len(written)} files written in {workspace.root} (existing files are never replaced)")
    print(
        f"start with: dlf learn watch --dir {workspace.root}   (or read {workspace.root}/README.md)"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from dlf.learn import exercises
    from dlf.learn.grading import PASSED

    workspace = _workspace(args)
    rows = [(e, workspace.state(e)) for e in exercises()]
    passed = sum(state == PASSED for _, state in rows)
    if args.json:
        items = [
            {
                "name": e.name,
                "module": e.module,
                "file": e.filename,
                "title": e.title,
                "state": state,
            }
            for e, state in rows
        ]
        print(json.dumps({"exercises": items, "passed": passed, "total": len(rows)}, indent=2))
        return 0
    width = max(len(e.name) for e, _ in rows)
    module = None
    for e, state in rows:
        if e.module != module:
            module = e.module
            print(f"Module {module}")
        mark = {"passed": "✓", "not started": "·"}.get(state, "✗")
        print(f"  {mark} {e.name:<{width}}  {state:<12}  {e.filename}")
    print(f"{passed} of {len(rows)} exercises pass")
    return 0


def _check(args: argparse.Namespace) -> int:
    from dlf.learn import exercises, get_exercise
    from dlf.learn.check import check

    workspace = _workspace(args)
    grades = check(workspace, args.names or None, args.timeout)
    if not grades:
        not_started = [e.name for e in exercises()]
        if args.json:
            print(json.dumps({"exercises": [], "passed": 0, "not_started": not_started}))
        else:
            print(
                f"· all {len(not_started)} exercises are not started: open "
                f"{workspace.path(exercises()[0])} and write it (dlf learn watch --dir {args.dir})"
            )
        return 1
    passed = sum(g.passed for g in grades)
    if args.json:
        out = {
            "exercises": [
                {**g.to_json(), "file": workspace.path(get_exercise(g.exercise)).as_posix()}
                for g in grades
            ],
            "passed": passed,
            "graded": len(grades),
            "seconds": round(sum(g.seconds for g in grades), 3),
        }
        print(json.dumps(out, indent=2))
    else:
        for g in grades:
            mark = {"passed": "✓", "not started": "·"}.get(g.state, "✗")
            path = workspace.path(get_exercise(g.exercise))
            print(f"{mark} {g.exercise}: {g.state} ({g.seconds:.1f} s)  {path}")
            if not g.passed:
                for line in g.lines():
                    print("    " + line.replace("\n", "\n    "))
        print(f"{passed} of {len(grades)} graded exercises pass")
    return 0 if passed == len(grades) else 1


def _watch(args: argparse.Namespace) -> int:
    from dlf.learn.watch import watch

    return watch(_workspace(args))


def _hint(args: argparse.Namespace) -> int:
    from dlf.learn import get_exercise
    from dlf.learn.check import next_hint

    exercise = get_exercise(args.name)
    number, text = next_hint(_workspace(args), exercise)
    print(f"hint {number} of {len(exercise.hints)} for {exercise.name}: {text}")
    if number == len(exercise.hints):
        print(f"(that was the last; `dlf learn solution {exercise.name}` shows the reference)")
    return 0


def _solution(args: argparse.Namespace) -> int:
    from dlf.learn import get_exercise

    exercise = get_exercise(args.name)
    workspace = _workspace(args, must_exist=False)
    if workspace.exists():
        workspace.update(exercise.name, solution_viewed=True)
    print(exercise.solution, end="")
    return 0


def _solve(args: argparse.Namespace) -> int:
    from dlf.learn import exercises, get_exercise
    from dlf.learn.check import solve

    if args.all == bool(args.names):
        raise UsageError("dlf learn solve: name exercises or give --all (not both)")
    workspace = _workspace(args)
    chosen = exercises() if args.all else [get_exercise(n) for n in args.names]
    for line in solve(workspace, chosen, args.force):
        print(line)
    return 0


def _report(args: argparse.Namespace) -> int:
    from dlf.learn.report import write_report

    print(f"report: {write_report(_workspace(args))}")
    return 0
