"""Mechanical mutants of a reference solution: one small change at one place each.

The operators are the slips of a hand that knows the formula: ``+`` for ``-`` (and back), ``*``
for ``/``, another constant, a comparison made strict or loose, a dropped transpose ``.T``, a
dropped ``axis=`` (the sum over everything instead of one axis) and a dropped unary minus. Only
the bodies the learner writes are mutated (the functions and methods of the stub), never the
docstrings or the imports. A mutant is caught when grading it does not pass.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

from dlf.learn.exercise import Exercise

_SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_SWAP_CMP = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}


def _learner_defs(tree: ast.Module, stub: ast.Module) -> dict[str, ast.FunctionDef]:
    """The defs of ``tree`` that the stub asks the learner to write, by qualified name."""

    def defs(module: ast.Module) -> dict[str, ast.FunctionDef]:
        found = {}
        for node in module.body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        found[f"{node.name}.{item.name}"] = item
        return found

    wanted = defs(stub)
    return {name: node for name, node in defs(tree).items() if name in wanted}


def _sites(fn: ast.FunctionDef) -> Iterator[tuple[str, ast.AST]]:
    """Every node of ``fn``'s body (docstring excluded) that an operator can change."""
    body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) else fn.body
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _SWAP_BINOP:
                yield "swap operator", node
            elif isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAP_CMP:
                yield "swap comparison", node
            elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
                yield "change constant", node
            elif isinstance(node, ast.Attribute) and node.attr == "T":
                yield "drop transpose", node
            elif isinstance(node, ast.Call) and any(k.arg == "axis" for k in node.keywords):
                yield "drop axis", node
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                yield "drop minus", node


def _apply(kind: str, node: ast.AST, parent_of: dict[int, ast.AST]) -> None:
    if kind == "swap operator":
        node.op = _SWAP_BINOP[type(node.op)]()
    elif kind == "swap comparison":
        node.ops[0] = _SWAP_CMP[type(node.ops[0])]()
    elif kind == "change constant":
        node.value = (
            node.value + 1 if isinstance(node.value, int) or node.value == 0 else (node.value * 2)
        )
    elif kind == "drop axis":
        node.keywords = [k for k in node.keywords if k.arg != "axis"]
    else:  # drop transpose / drop minus: the node is replaced by its operand
        inner = node.value if kind == "drop transpose" else node.operand
        parent = parent_of[id(node)]
        for field, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, field, inner)
            elif isinstance(value, list):
                parent.__dict__[field] = [inner if v is node else v for v in value]


def mutants(exercise: Exercise) -> list[tuple[str, str]]:
    """``[(description, mutated solution text), ...]``, one mutant per site and operator."""
    tree = ast.parse(exercise.solution)
    stub = ast.parse(exercise.stub)
    sites = [
        (name, kind, index)
        for name, fn in _learner_defs(tree, stub).items()
        for index, (kind, _) in enumerate(_sites(fn))
    ]
    out = []
    for fn_name, kind, index in sites:
        mutant = copy.deepcopy(tree)
        fn = _learner_defs(mutant, stub)[fn_name]
        node = list(_sites(fn))[index][1]
        parent_of = {id(c): p for p in ast.walk(fn) for c in ast.iter_child_nodes(p)}
        _apply(kind, node, parent_of)
        line = getattr(node, "lineno", 0)
        out.append((f"{fn_name}: {kind} at line {line}", ast.unparse(mutant)))
    return out
