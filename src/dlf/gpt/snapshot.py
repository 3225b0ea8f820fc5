"""A training snapshot: what a GPT run saves so that it can go on exactly, and be sampled from.

Safetensors for every tensor, JSON for the rest; nothing that runs code. A snapshot lives in a
run's ``checkpoint/`` folder (that folder's name and ``checkpoint.json`` are the on-disk format
of every run written so far, and stay) and holds

- ``checkpoint.json``, the manifest: format, step, the model and training configs, the
  optimizer's param groups (hyper-parameters), the batch sampler's position, and the names of the
  two files below;
- ``model-<step>.safetensors``: the model weights, by GPT-2's names (the tied lm_head is stored
  once, as ``transformer.wte``);
- ``state-<step>.safetensors``: the AdamW moments (``optimizer.<param index>.<name>``) and the
  random-number-generator states of every process (``rng.torch.<rank>``, ``rng.cuda.<rank>``).

Every file is written atomically, the JSON last: until it is replaced, it names the previous
step's files, which are deleted only afterwards. A run stopped at any moment leaves a complete
snapshot behind. Version 1 files named the weights otherwise (``wte.weight``,
``h.0.mlp.W_1.weight``): they load, renamed by :func:`gpt2_name`.
(The path's *checkpoints*, ``dlf checkpoints``, are another thing: the proofs in
:mod:`dlf.gpt.checkpoints`.)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from dlf.gpt.model import GPT, GPTConfig
from dlf.runs import atomic_write_bytes, atomic_write_json

FORMAT = "dlf.gpt.checkpoint"  # the manifest's format field, as written since version 1
VERSION = 2
READABLE = (1, 2)
TIED = ("lm_head.weight",)  # the same tensor as transformer.wte.weight
# Version 1's names -> version 2's (GPT-2's), applied in this order to the start of a name.
V1_RENAMES = (
    ("wpe.embedding.", "transformer.wpe."),
    ("wte.", "transformer.wte."),
    ("h.", "transformer.h."),
    ("ln_f.", "transformer.ln_f."),
)
V1_MLP_RENAMES = ((".mlp.W_1.", ".mlp.c_fc."), (".mlp.W_2.", ".mlp.c_proj."))


def model_state_bytes(model: nn.Module) -> bytes:
    """The model's weights as safetensors bytes, tied aliases (lm_head.weight) left out."""
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k not in TIED}
    return save_safetensors(state, metadata={"format": FORMAT})


def gpt2_name(name: str) -> str:
    """The GPT-2 name of a weight named by a version 1 snapshot; other names unchanged.

    Example: ``"h.0.mlp.W_1.weight"`` -> ``"transformer.h.0.mlp.c_fc.weight"``,
    ``"wpe.embedding.weight"`` -> ``"transformer.wpe.weight"``.
    """
    for old, new in V1_RENAMES:
        if name.startswith(old):
            name = new + name[len(old) :]
            break
    for old, new in V1_MLP_RENAMES:
        name = name.replace(old, new)
    return name


def load_model_state(model: nn.Module, data: bytes) -> None:
    """Load weights written by :func:`model_state_bytes` into ``model`` (same shapes); a
    version 1 file's names are renamed (:func:`gpt2_name`)."""
    state = load_safetensors(data)
    if not any(name.startswith("transformer.") for name in state):
        state = {gpt2_name(name): value for name, value in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in TIED]
    if missing or unexpected:
        raise ValueError(
            f"saved weights do not fit this model: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}; build the model from the snapshot's model_config"
        )


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """Split ``optimizer.state_dict()`` into tensors ``{"optimizer.<i>.<name>": t}`` and the
    JSON-able param groups. Example: AdamW's ``state[3]["exp_avg"]`` -> ``"optimizer.3.exp_avg"``.
    """
    state = optimizer.state_dict()
    tensors = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            tensors[f"optimizer.{index}.{name}"] = torch.as_tensor(value).detach().contiguous()
    return tensors, state["param_groups"]


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], param_groups: list
) -> None:
    """Inverse of :func:`optimizer_state`."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in param_groups]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def write_snapshot(
    folder: str | os.PathLike,
    model: GPT,
    optimizer: torch.optim.Optimizer,
    step: int,
    rng_states: dict[str, torch.Tensor],
    info: dict[str, Any],
) -> Path:
    """Write the snapshot of ``step`` into ``folder`` (see the module docstring).

    ``rng_states``: named uint8 tensors (``{"rng.torch.0": ...}``); ``info``: more JSON fields
    (train config, sampler state, ...). Returns the path of ``checkpoint.json``.
    """
    folder = Path(folder)
    model_file, state_file = f"model-{step:07d}.safetensors", f"state-{step:07d}.safetensors"
    tensors, param_groups = optimizer_state(optimizer)
    atomic_write_bytes(folder / model_file, model_state_bytes(model))
    atomic_write_bytes(folder / state_file, save_safetensors({**tensors, **rng_states}))
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "model_config": asdict(model.config),
        "model_file": model_file,
        "state_file": state_file,
        "optimizer_param_groups": param_groups,
        **info,
    }
    path = atomic_write_json(folder / "checkpoint.json", manifest)
    for old in [*folder.glob("model-*.safetensors"), *folder.glob("state-*.safetensors")]:
        if old.name not in (model_file, state_file):
            old.unlink(missing_ok=True)
    return path


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The manifest ``checkpoint.json`` of ``folder`` (a snapshot's folder, or a run folder
    holding a ``checkpoint/`` one), with its ``folder`` added; a clear error if there is none."""
    folder = Path(folder)
    if not (folder / "checkpoint.json").is_file() and (folder / "checkpoint").is_dir():
        folder = folder / "checkpoint"
    path = folder / "checkpoint.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no GPT checkpoint in {folder} (no checkpoint.json): give the run directory of a "
            "training run that saved at least one checkpoint"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") not in READABLE:
        raise ValueError(
            f"{path} is not a {FORMAT} file of version {' or '.join(map(str, READABLE))}"
        )
    manifest["folder"] = str(folder)
    return manifest


def read_state_tensors(manifest: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The optimizer and RNG tensors of a snapshot (see :func:`read_manifest`)."""
    return load_safetensors((Path(manifest["folder"]) / manifest["state_file"]).read_bytes())


def load_gpt(folder: str | os.PathLike, device: torch.device | str = "cpu") -> GPT:
    """The GPT saved in a snapshot's (or run) folder, in eval mode, on ``device``."""
    manifest = read_manifest(folder)
    model = GPT(GPTConfig(**manifest["model_config"]))
    load_model_state(model, (Path(manifest["folder"]) / manifest["model_file"]).read_bytes())
    return model.to(device).eval()
