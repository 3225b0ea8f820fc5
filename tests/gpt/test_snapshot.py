"""Training snapshots: safetensors + JSON, round trips, the tied matrix, old files removed."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from dlf.gpt.snapshot import (
    load_gpt,
    load_optimizer_state,
    read_manifest,
    read_state_tensors,
    write_snapshot,
)

from .helpers import tiny_gpt


def trained_pair(seed: int):
    """A tiny model and its AdamW after two steps (so the moments are not zero)."""
    model = tiny_gpt(seed=seed, dtype=torch.float32)
    optimizer = model.configure_optimizer(0.1, 1e-2, (0.9, 0.95))
    idx = torch.randint(0, 13, (2, 12), generator=torch.Generator().manual_seed(seed))
    for _ in range(2):
        _, loss = model(idx, idx)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model, optimizer


def test_round_trip_weights_optimizer_and_rng(tmp_path):
    model, optimizer = trained_pair(seed=0)
    rng = {"rng.torch.0": torch.get_rng_state()}
    write_snapshot(tmp_path, model, optimizer, step=2, rng_states=rng, info={"note": "x"})
    manifest = read_manifest(tmp_path)
    assert manifest["step"] == 2 and manifest["note"] == "x"
    loaded = load_gpt(tmp_path)
    assert loaded.config == model.config
    assert loaded.lm_head.weight is loaded.transformer.wte.weight  # still tied after loading
    for (name, p), q in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    tensors = read_state_tensors(manifest)
    assert torch.equal(tensors["rng.torch.0"], rng["rng.torch.0"])

    other_model, other_optimizer = trained_pair(seed=1)
    load_optimizer_state(other_optimizer, tensors, manifest["optimizer_param_groups"])
    want, got = optimizer.state_dict(), other_optimizer.state_dict()
    assert want["param_groups"] == got["param_groups"]
    for index, state in want["state"].items():
        for key, value in state.items():
            assert torch.equal(value, got["state"][index][key]), (index, key)


def test_files_are_safetensors_and_json_and_old_steps_are_removed(tmp_path):
    model, optimizer = trained_pair(seed=0)
    write_snapshot(tmp_path, model, optimizer, 1, {}, {})
    write_snapshot(tmp_path, model, optimizer, 2, {}, {})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["checkpoint.json", "model-0000002.safetensors", "state-0000002.safetensors"]
    json.loads((tmp_path / "checkpoint.json").read_text())  # plain JSON


def test_a_folder_without_a_snapshot_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no GPT checkpoint"):
        load_gpt(tmp_path)


def version_1_name(name: str) -> str:
    """The name a version 1 snapshot gave a weight (before GPT-2's names)."""
    name = name.replace("transformer.wpe.", "wpe.embedding.").removeprefix("transformer.")
    return name.replace(".mlp.c_fc.", ".mlp.W_1.").replace(".mlp.c_proj.", ".mlp.W_2.")


def test_a_version_1_snapshot_loads_by_its_old_names(tmp_path):
    model, optimizer = trained_pair(seed=0)
    write_snapshot(tmp_path, model, optimizer, 2, {}, {})
    manifest = read_manifest(tmp_path)
    path = tmp_path / manifest["model_file"]
    state = load_file(str(path))
    assert "transformer.h.0.mlp.c_fc.weight" in state and "lm_head.weight" not in state
    old = {version_1_name(k): v for k, v in state.items()}
    assert {"wte.weight", "wpe.embedding.weight", "h.0.mlp.W_1.weight", "ln_f.bias"} <= set(old)
    save_file(old, str(path))
    (tmp_path / "checkpoint.json").write_text(json.dumps({**manifest, "version": 1}))
    loaded = load_gpt(tmp_path)
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    assert loaded.lm_head.weight is loaded.transformer.wte.weight
