"""``dlf checkpoints``, ``dlf gradcheck``, ``dlf report``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dlf.cli.errors import UsageError


def add_checkpoints(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--modules", default=None, help="comma-separated module numbers, e.g. 1,2")


def parse_modules(text: str | None) -> list[int] | None:
    """``"1,2"`` -> ``[1, 2]``; None -> None (all modules); a number that is no module of the
    path -> UsageError naming the valid ones."""
    from dlf.path.modules import module

    if not text:
        return None
    try:
        numbers = [int(m) for m in text.split(",") if m.strip()]
    except ValueError:
        numbers = []
    if not numbers:
        raise UsageError(f"--modules wants numbers like 1,2; got {text!r}")
    for number in numbers:
        try:
            module(number)
        except ValueError as err:
            raise UsageError(f"--modules: {err}") from None
    return numbers


def cmd_checkpoints(args: argparse.Namespace) -> int:
    from dlf.path import format_checkpoints, run_checkpoints

    results = run_checkpoints(parse_modules(args.modules))
    print(format_checkpoints(results))
    return 1 if any(r.status == "fail" for r in results) else 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from dlf.scratch.gradcheck import format_gradcheck_table, gradcheck_table

    rows = gradcheck_table()
    print(format_gradcheck_table(rows))
    return 0 if all(r["passed"] for r in rows) else 1


def add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a run directory, or a recipe name for its newest run")
    parser.add_argument("--runs-dir", default="runs", help="root of run directories (runs)")


def cmd_report(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if not (target / "summary.json").is_file():
        runs = sorted((Path(args.runs_dir) / args.target).glob("*/summary.json"))
        if not runs:
            raise UsageError(f"{args.target!r} is neither a run directory nor a recipe with runs")
        target = runs[-1].parent
    print(json.dumps(json.loads((target / "summary.json").read_text()), indent=2))
    print(f"report: {target / 'report.html'}")
    return 0


BENCHES = {
    "mlp": "dlf.bench.mlp:bench_mlp",
    "conv": "dlf.bench.conv:bench_conv",
    "bpe": "dlf.bench.bpe:bench_bpe",
    "gpt": "dlf.bench.gpt:bench_gpt",
    "gpt-quality": "dlf.bench.gpt_quality:bench_gpt_quality",
    "numpy-gpt": "dlf.bench.numpy_gpt:bench_numpy_gpt",
    "load": "dlf.bench.load:bench_load",
}


def add_bench(parser: argparse.ArgumentParser) -> None:
    parser.usage = "dlf bench NAME [--record] [key=value ...]   e.g. dlf bench conv threads=1"
    parser.add_argument("name", help=f"which benchmark: {', '.join(BENCHES)}")
    parser.add_argument(
        "--record", action="store_true", help="store the result in dlf's measured figures"
    )
    parser.set_defaults(takes_pairs="key=value arguments of the benchmark function")


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib
    import inspect
    import typing

    from dlf.recipes import ConfigError, convert, parse_overrides

    if args.name not in BENCHES:
        raise UsageError(f"no benchmark named {args.name!r}; valid: {', '.join(BENCHES)}")
    module, function = BENCHES[args.name].split(":")
    bench = getattr(importlib.import_module(module), function)
    hints = typing.get_type_hints(bench)
    valid = [p for p in inspect.signature(bench).parameters if p in hints]
    kwargs = {}
    for key, value in parse_overrides(args.pairs).items():
        if key not in valid:
            raise ConfigError(f"unknown key {key!r}; valid keys: {', '.join(valid)}")
        kwargs[key] = convert(value, hints[key], key)
    from dlf.bench import load_average

    before = load_average()
    report = bench(**kwargs)
    print(report.format())
    if args.record:
        from dlf.bench.measured import MEASURED, record_bench

        record_bench(args.name, report, before)
        print(f"recorded in {MEASURED}")
    return 0


def add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model of dlf.cnn by name, e.g. resnet18, vgg16_bn")
    parser.add_argument(
        "shape", nargs="?", default=None, help="input shape C,H,W (default: the model's own)"
    )


def _model_and_shape(args: argparse.Namespace):
    import torch

    from dlf.cnn import INPUT_SHAPES, MODELS, get_model

    if args.model not in MODELS:
        raise UsageError(f"no model named {args.model!r}; valid: {', '.join(MODELS)}")
    shape = INPUT_SHAPES[args.model]
    if args.shape:
        try:
            shape = tuple(int(s) for s in args.shape.replace("x", ",").split(","))
        except ValueError:
            raise UsageError(f"shape wants C,H,W like 3,224,224; got {args.shape!r}") from None
        if len(shape) != 3:
            raise UsageError(f"shape wants three numbers C,H,W; got {args.shape!r}")
    extra = {"in_channels": shape[0]} if shape[0] != INPUT_SHAPES[args.model][0] else {}
    try:
        with torch.device("meta"):  # no memory, no initialisation: the tables need shapes only
            model = get_model(args.model, **extra)
    except TypeError:
        raise UsageError(
            f"{args.model} takes {INPUT_SHAPES[args.model][0]} channels only"
        ) from None
    return model, shape


def add_summary(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        help="a model by name: a CNN (resnet18, vgg16_bn, ...), a GPT (gpt2, gpt2-medium, "
        "gpt2-large, gpt2-xl, gpt-shakespeare-char, ...) or a Transformer (transformer-base, "
        "transformer-big, transformer-copy)",
    )
    parser.add_argument(
        "shape",
        nargs="?",
        default=None,
        help="a CNN's input C,H,W, or a language model's tokens T (default: the model's own)",
    )
    parser.add_argument(
        "--html", default=None, metavar="FILE", help="also write the table and the diagram here"
    )


def _token_models() -> dict:
    from dlf.gpt.configs import GPT_CONFIGS, gpt_architecture
    from dlf.transformer.configs import TRANSFORMER_CONFIGS, transformer_architecture

    return {
        **{name: gpt_architecture for name in GPT_CONFIGS},
        **{name: transformer_architecture for name in TRANSFORMER_CONFIGS},
    }


def cmd_summary(args: argparse.Namespace) -> int:
    import torch

    from dlf.cnn import MODELS
    from dlf.runs.architecture import architecture

    token_models = _token_models()
    if args.model not in token_models and args.model not in MODELS:
        valid = ", ".join([*MODELS, *token_models])
        raise UsageError(f"no model named {args.model!r}; valid: {valid}")
    if args.html and not Path(args.html).parent.is_dir():
        raise UsageError(f"--html: folder {str(Path(args.html).parent)!r} does not exist")
    if args.model in token_models:
        if args.shape is not None and not args.shape.isdigit():
            raise UsageError(f"{args.model} takes a number of tokens T like 64; got {args.shape!r}")
        try:
            arch, line = token_models[args.model](args.model, args.shape and int(args.shape))
        except ValueError as err:
            raise UsageError(str(err)) from None
    else:
        model, shape = _model_and_shape(args)
        try:
            arch = architecture(model, torch.zeros(1, *shape, device="meta"), title=args.model)
        except RuntimeError as err:
            raise UsageError(f"{args.model} cannot take input {shape}: {err}") from None
        line = f"{args.model}: {arch.parameters:,} parameters, input 1x{'x'.join(map(str, shape))}"
    print(f"{line}\n\n{arch.table()}\n\n{arch.text()}")
    if args.html:
        from dlf.runs import Report, atomic_write_text, to_png

        page = Report(f"dlf summary {args.model}")
        page.text(line, pre=True)
        page.image(to_png(arch.figure()), f"{args.model}: data flow of one forward pass")
        page.text(arch.table(), pre=True)
        atomic_write_text(Path(args.html), page.render())
        print(f"report: {args.html}")
    return 0


def cmd_receptive_field(args: argparse.Namespace) -> int:
    from dlf.cnn import format_receptive_field, receptive_field

    model, shape = _model_and_shape(args)
    print(format_receptive_field(receptive_field(model, shape[-1])))
    return 0
