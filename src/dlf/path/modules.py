"""The learning path as data: its four modules, their concepts, recipes and checkpoints.

A concept names the files that implement it (relative to ``src/dlf``) and the recipe that
exercises it. A module is built when its package exists; a module that is not is shown as
"not built yet", never as passing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from dlf.path.checkpoint import Checkpoint


@dataclass(frozen=True)
class Concept:
    name: str
    files: tuple[str, ...] = ()
    recipe: str | None = None


@dataclass(frozen=True)
class PathModule:
    number: int
    title: str
    package: str
    concepts: tuple[Concept, ...]
    recipes: tuple[str, ...]
    checkpoints: str  # module holding CHECKPOINTS, a list of Checkpoint

    def load_checkpoints(self) -> list[Checkpoint] | None:
        """The module's checkpoints, or None when the module is not built yet."""
        try:
            return list(importlib.import_module(self.checkpoints).CHECKPOINTS)
        except ModuleNotFoundError as err:
            if err.name and self.checkpoints.startswith(err.name):
                return None
            raise

    @property
    def built(self) -> bool:
        from dlf.recipes import CATALOG

        return all(r in CATALOG for r in self.recipes) and self.load_checkpoints() is not None


MODULES: tuple[PathModule, ...] = ()


def module(number: int) -> PathModule:
    """The path module with that number (1..4)."""
    for m in MODULES:
        if m.number == number:
            return m
    raise ValueError(f"no path module {number}; the path has modules 1 to {len(MODULES)}")
