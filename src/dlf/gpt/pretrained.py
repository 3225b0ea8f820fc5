"""GPT-2 in Hugging Face's layout: read into ``dlf.gpt.GPT``, and written from it.

A folder in this layout (``transformers``' ``save_pretrained``, or a GPT-2 of any size from the
Hub) holds ``config.json`` (``model_type`` "gpt2": ``n_layer``, ``n_head``, ``n_embd``,
``n_positions``, ``vocab_size``, ``activation_function``, ...) and ``model.safetensors`` (or the
shards that ``model.safetensors.index.json`` names). The weights carry this GPT's names
(``transformer.h.0.attn.c_attn.weight``; OpenAI's own files leave out ``transformer.``); the tied
``lm_head.weight`` is usually left out. GPT-2's four projections per block are ``Conv1D``
layers, which store their matrix the other way round from ``nn.Linear``:

    y = x W + b   (Conv1D, W (in, out))   =   x A^T + b   (nn.Linear, A = W^T (out, in))

so ``attn.c_attn``, ``attn.c_proj``, ``mlp.c_fc`` and ``mlp.c_proj`` weights are transposed
on the way in and on the way out. Weights are read only from safetensors files (a
``pytorch_model.bin`` is a pickle, which can run code when loaded).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors_file
from safetensors.torch import save as save_safetensors
from torch import Tensor

from dlf.data import DataError
from dlf.gpt.model import GPT, GPTConfig
from dlf.runs import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:
    from dlf.gpt.trained import TrainedGPT

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
# config.json's activation_function -> GPTConfig.gelu; "gelu_new" is GPT-2's tanh GELU.
GELU = {"gelu": "exact", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}
EXPORTED_GELU = {"exact": "gelu", "tanh": "gelu_new"}
LAYER_NORM_EPS = 1e-5  # nn.LayerNorm's default, which this GPT uses
# Settings of transformers' GPT2Config that this GPT has no equivalent for: (key, the only value).
FIXED = (
    ("scale_attn_weights", True),
    ("scale_attn_by_inverse_layer_idx", False),
    ("add_cross_attention", False),
    ("tie_word_embeddings", True),
)
# Causal-mask buffers that older transformers versions saved with the weights.
BUFFERS = (".attn.bias", ".attn.masked_bias")
# GPTConfig.positional: GPT-2's layout holds a learned position table and nothing else.
LEARNED_ONLY = (
    "GPT-2's layout keeps the positions in a learned table (transformer.wpe.weight): only "
    "positional='learned' is read or written, got positional={!r}"
)


class PretrainedError(DataError):
    """A folder that holds no GPT-2 in Hugging Face's layout, or one this GPT cannot hold."""


def read_config(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of ``folder`` (a PretrainedError if there is none)."""
    if not folder.is_dir():
        raise PretrainedError(f"{folder}: no such folder")
    path = folder / "config.json"
    if not path.is_file():
        raise PretrainedError(
            f"{folder} holds no config.json: give a folder in Hugging Face's layout "
            "(config.json and model.safetensors, as save_pretrained writes them)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PretrainedError(f"{path} is not JSON ({err})") from None
    if not isinstance(config, dict):
        raise PretrainedError(f"{path} is not a JSON object")
    return config


def gpt_config(hf: dict[str, Any], **overrides: Any) -> GPTConfig:
    """The GPTConfig of a GPT-2 ``config.json``; ``overrides``: other GPTConfig fields
    (``dropout`` is 0 unless given: a loaded model is for inference or fine-tuning; a
    ``positional`` other than "learned" is a PretrainedError).

    Example: GPT-2 medium's ``{"n_layer": 24, "n_head": 16, "n_embd": 1024, "n_positions":
    1024, "vocab_size": 50257, "activation_function": "gelu_new", ...}`` ->
    ``GPTConfig(block_size=1024, vocab_size=50257, n_layer=24, n_head=16, n_embd=1024,
    gelu="tanh")``.
    """
    if hf.get("model_type") != "gpt2":
        raise PretrainedError(f"model_type is {hf.get('model_type')!r}: only 'gpt2' is read")
    absent = [k for k in ("vocab_size", "n_layer", "n_head", "n_embd") if k not in hf]
    if absent or not ("n_positions" in hf or "n_ctx" in hf):
        raise PretrainedError(f"config.json lacks {absent or ['n_positions']}")
    activation = hf.get("activation_function", "gelu_new")
    if activation not in GELU:
        raise PretrainedError(
            f"activation_function {activation!r} is not one of {sorted(GELU)}: this GPT has "
            "the exact and the tanh GELU only"
        )
    n_embd = hf["n_embd"]
    if hf.get("n_inner") not in (None, 4 * n_embd):
        raise PretrainedError(f"n_inner={hf['n_inner']}: this GPT's MLP is 4 * n_embd wide")
    if hf.get("layer_norm_epsilon", LAYER_NORM_EPS) != LAYER_NORM_EPS:
        raise PretrainedError(
            f"layer_norm_epsilon={hf['layer_norm_epsilon']}: this GPT's is {LAYER_NORM_EPS}"
        )
    for key, value in FIXED:
        if hf.get(key, value) != value:
            raise PretrainedError(f"{key}={hf[key]}: this GPT has only {key}={value}")
    if overrides.get("positional", "learned") != "learned":
        raise PretrainedError(LEARNED_ONLY.format(overrides["positional"]))
    shape = dict(
        block_size=hf.get("n_positions", hf.get("n_ctx")),
        vocab_size=hf["vocab_size"],
        n_layer=hf["n_layer"],
        n_head=hf["n_head"],
        n_embd=n_embd,
        dropout=0.0,
        bias=True,
        gelu=GELU[activation],
    )
    return GPTConfig(**{**shape, **overrides})


def hf_config(config: GPTConfig) -> dict[str, Any]:
    """The ``config.json`` of ``transformers``' GPT-2 for a GPT of ``config`` (inverse of
    :func:`gpt_config`; GPT-2's end-of-text id 50256 as bos/eos when the vocabulary has it)."""
    eos = 50256 if config.vocab_size > 50256 else None
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": EXPORTED_GELU[config.gelu],
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": LAYER_NORM_EPS,
        "initializer_range": 0.02,
        **dict(FIXED),
        "bos_token_id": eos,
        "eos_token_id": eos,
    }


def read_weights(folder: Path) -> dict[str, Tensor]:
    """The tensors of ``model.safetensors``, or of every shard that
    ``model.safetensors.index.json`` names (its ``weight_map``: name -> file)."""
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        return _read_safetensors(single)
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return {k: v for shard in shards for k, v in _read_safetensors(folder / shard).items()}
    raise PretrainedError(
        f"{folder} holds no model.safetensors (nor model.safetensors.index.json): only "
        "safetensors weights are read (a pytorch_model.bin is a pickle, which can run code)"
    )


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        return load_safetensors_file(path)
    except (SafetensorError, OSError) as err:
        raise PretrainedError(f"{path} is not a complete safetensors file ({err})") from None


def gpt_state(hf_state: dict[str, Tensor]) -> dict[str, Tensor]:
    """A GPT-2 state in Hugging Face's layout -> this GPT's ``state_dict()`` (no lm_head).

    ``transformer.`` added where missing, the causal-mask buffers dropped, Conv1D weights
    transposed. Example: ``{"h.0.attn.c_attn.weight": (C, 3C), "h.0.attn.bias": mask}`` ->
    ``{"transformer.h.0.attn.c_attn.weight": (3C, C)}``.
    """
    state = {}
    for name, value in hf_state.items():
        if name == "lm_head.weight" or name.endswith(BUFFERS):
            continue
        name = name if name.startswith("transformer.") else f"transformer.{name}"
        state[name] = value.t().contiguous() if name.endswith(CONV1D) else value
    return state


def hf_state(model: GPT) -> dict[str, Tensor]:
    """This GPT's weights in Hugging Face's GPT-2 layout (inverse of :func:`gpt_state`): the
    Conv1D weights transposed, the tied ``lm_head.weight`` left out, every tensor its own."""
    return {
        name: (value.t() if name.endswith(CONV1D) else value).detach().contiguous().clone()
        for name, value in model.state_dict().items()
        if name != "lm_head.weight"
    }


def load_pretrained(path: str | os.PathLike, cls: type[GPT] = GPT, **config: Any) -> GPT:
    """The GPT-2 in Hugging Face's layout in the folder ``path``, as a ``cls`` in eval mode.

    ``config``: other GPTConfig fields (``attention``, ``dropout``). Every weight must be
    there with its shape, and a stored ``lm_head.weight`` must equal the token embedding
    (GPT-2 ties the two); anything else is a PretrainedError naming the weights.
    """
    folder = Path(path).expanduser()
    model_config = gpt_config(read_config(folder), **config)
    stored = read_weights(folder)
    state = gpt_state(stored)
    with torch.device("meta"):  # no random initialisation: every weight comes from the file
        model = cls(model_config)
    want = {k: v.shape for k, v in model.state_dict().items() if k != "lm_head.weight"}
    missing, unexpected = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    wrong = [k for k in want if k in state and state[k].shape != want[k]]
    if missing or unexpected or wrong:
        raise PretrainedError(
            f"{folder}: the weights do not fit its config.json: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}, of another shape {wrong[:3]}"
        )
    wte = state["transformer.wte.weight"]
    if "lm_head.weight" in stored and not torch.equal(stored["lm_head.weight"], wte):
        raise PretrainedError(f"{folder}: lm_head.weight differs from wte: GPT-2 ties the two")
    model.load_state_dict({**state, "lm_head.weight": wte}, assign=True)
    model.lm_head.weight = model.transformer.wte.weight  # assign=True made two parameters
    return model.eval()


def save_pretrained(model: GPT, path: str | os.PathLike) -> Path:
    """Write ``model`` into the folder ``path`` in Hugging Face's GPT-2 layout
    (``config.json``, ``model.safetensors``), which ``transformers.GPT2LMHeadModel
    .from_pretrained(path)`` and :func:`load_pretrained` read. Returns the folder.

    GPT-2 has biases everywhere and learned positions: a model with ``bias=False`` or another
    ``positional`` than "learned" is a ValueError.
    """
    if not model.config.bias:
        raise ValueError(
            "GPT-2 has biases in every Linear and LayerNorm: bias=False cannot be saved"
        )
    if model.config.positional != "learned":
        raise ValueError(LEARNED_ONLY.format(model.config.positional))
    folder = Path(path).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    data = save_safetensors(hf_state(model), metadata={"format": "pt"})
    atomic_write_bytes(folder / "model.safetensors", data)
    atomic_write_json(folder / "config.json", hf_config(model.config))
    return folder


def load_gpt2(path: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedGPT:
    """The GPT-2 of the folder ``path`` (:func:`load_pretrained`) with GPT-2's tokenizer
    (``dlf.gpt.BPETokenizer.gpt2()``), as a ``TrainedGPT`` for ``dlf.gpt.generation.complete``
    (step 0: the folder records none). A vocabulary smaller than the tokenizer's is a
    PretrainedError."""
    from dlf.gpt.tokenizer import BPETokenizer
    from dlf.gpt.trained import TrainedGPT

    model = load_pretrained(path).to(device)
    tokenizer = BPETokenizer.gpt2()
    if tokenizer.vocab_size > model.config.vocab_size:
        raise PretrainedError(
            f"{path}: the model has {model.config.vocab_size} tokens, GPT-2's tokenizer "
            f"{tokenizer.vocab_size}: it was not trained with GPT-2's tokenizer"
        )
    return TrainedGPT(model, tokenizer, Path(path), 0)
