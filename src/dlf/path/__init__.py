"""The learning path as data, its executable checkpoints, and ``dlf path``."""

from dlf.path.checkpoint import Checkpoint, CheckpointResult, Evidence, run_checkpoint
from dlf.path.modules import MODULES, Concept, PathModule, markdown_table, module
from dlf.path.runner import format_checkpoints, run_checkpoints, run_path

__all__ = [
    "MODULES",
    "Checkpoint",
    "CheckpointResult",
    "Concept",
    "Evidence",
    "PathModule",
    "format_checkpoints",
    "markdown_table",
    "module",
    "run_checkpoint",
    "run_checkpoints",
    "run_path",
]
