"""Data parallelism through PyTorch's own engine (torch.distributed, DDP), in a few helpers.

``torchrun --nproc_per_node=N`` starts N processes and sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` in each; :func:`init_distributed` joins them into a process group (gloo on CPU,
nccl on GPU). Without those variables everything here is a no-op and training is one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """Where this process stands: ``rank`` in 0..size-1, ``local_rank`` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs and saves."""
        return self.rank == 0


def current_world() -> World:
    """The process group joined so far, or a world of one process."""
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return World(dist.get_rank(), dist.get_world_size(), local)
    return World()


def init_distributed() -> World:
    """Join the process group that torchrun describes in the environment (if any).

    Backend: nccl when CUDA is available (each process then uses GPU ``LOCAL_RANK``), gloo
    otherwise. Returns the :class:`World`; call :func:`close_distributed` at the end.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return current_world()
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return current_world()


def close_distributed() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(value: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of ``value`` over all processes (every process gets it); itself in a world of
    one. Example: ranks holding 1.0 and 3.0 both get 2.0."""
    if world.size == 1:
        return value
    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)  # gloo has no AVG
    return value / world.size
