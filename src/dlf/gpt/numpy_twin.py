"""``dlf.gpt.GPT`` and its NumPy twin ``dlf.scratch.gpt.GPT``: copy the weights across, compare.

The two share parameter names and shapes (``state_dict()``), so a copy is a dict of arrays each
way. :func:`gradient_parity` runs one batch through both and measures how far the NumPy
model's logits, loss and hand-written gradients are from PyTorch's and autograd's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dlf.gpt.model import GPT, GPTConfig
from dlf.scratch.gpt import GPT as NumpyGPT
from dlf.scratch.gradcheck import relative_error


def numpy_twin(model: GPT, dtype: np.dtype | type | None = None) -> NumpyGPT:
    """A NumPy GPT holding a copy of ``model``'s weights (in ``dtype``, else the model's)."""
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return NumpyGPT.from_state_dict(arrays, n_head=model.config.n_head, dtype=dtype)


def torch_twin(model: NumpyGPT, **config: object) -> GPT:
    """A ``dlf.gpt.GPT`` of ``model``'s shape and dtype holding a copy of its weights.

    ``config``: other GPTConfig fields (e.g. ``attention="fused"``); dropout is 0 by default.
    """
    names = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias")
    shape = {name: getattr(model, name) for name in names}
    shape["dropout"] = 0.0
    twin = GPT(GPTConfig(**{**shape, **config}))
    twin.to(torch.from_numpy(np.zeros(0, dtype=model.dtype)).dtype)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


def numpy_step_fn(model: NumpyGPT):
    """A ``step_fn(ids, cache) -> (logits (B, V), None)`` for ``dlf.sampling`` over the NumPy
    GPT: no KV cache, the last ``block_size`` ids recomputed at every step (float32 logits)."""

    def step_fn(ids: Tensor, cache: None) -> tuple[Tensor, None]:
        logits = model.forward(ids[:, -model.block_size :].cpu().numpy())[:, -1, :]
        return torch.from_numpy(logits.astype(np.float32)), None

    return step_fn


@torch.no_grad()
def with_random_vectors(model: GPT, seed: int = 0) -> GPT:
    """Random LayerNorm gains ~ U(0.5, 1.5) and biases ~ U(-0.1, 0.1), in place, so that a
    backward which forgets a gain or a bias is seen (at GPT-2's initial 1 and 0 it would not)."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if p.dim() == 1:  # a LayerNorm's weight (its gain), or a bias
            values = torch.rand(p.shape, generator=g, dtype=torch.float64)
            p.copy_(0.5 + values if name.endswith("weight") else 0.2 * (values - 0.5))
    return model


def gradient_parity(
    model: GPT, idx: Tensor, targets: Tensor, twin: NumpyGPT | None = None
) -> dict[str, float]:
    """Relative errors of the NumPy twin against ``model`` (PyTorch, autograd) on one batch.

    ``{"logits": e, "loss": e, <parameter name>: e, ...}``: normwise relative errors
    (:func:`dlf.scratch.gradcheck.relative_error`) of the logits (B, T, V) and of every
    parameter's gradient of the mean cross-entropy, and ``|L_ours - L| / |L|``. The tied
    matrix appears once, as ``transformer.wte.weight`` (autograd sums both of its uses).
    ``twin``: the NumPy model to check (default: :func:`numpy_twin` of ``model``, in its dtype).
    ``model``'s ``.grad`` are overwritten. idx, targets: int64 (B, T).
    """
    twin = numpy_twin(model) if twin is None else twin
    model.zero_grad(set_to_none=True)
    logits, loss = model(idx, targets)
    loss.backward()
    x, y = idx.cpu().numpy(), targets.cpu().numpy()
    errors = {"logits": relative_error(twin.forward(x), logits.detach().cpu().numpy())}
    ours_loss = twin.loss(x, y)
    errors["loss"] = abs(ours_loss - loss.item()) / abs(loss.item())
    ours = twin.backward()
    for name, p in model.named_parameters():
        errors[name] = relative_error(ours[name], p.grad.cpu().numpy())
    return errors
