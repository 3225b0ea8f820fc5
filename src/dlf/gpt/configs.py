"""GPTs by name: GPT-2's four sizes (Radford et al. 2019, Table 2) and the project's own.

GPT-2's sizes differ only in depth and width; all share the 50,257-token BPE vocabulary and
a 1,024-token context. Their parameter counts, the tied ``wte``/``lm_head`` matrix once:

    P = V C + T C + L (12 C^2 + 13 C) + 2 C         (V vocabulary, T context, L layers, C width)

per block 4 C^2 + 4 C for attention (c_attn 3 C^2 + 3 C, c_proj C^2 + C), 8 C^2 + 5 C for the
MLP, 4 C for two LayerNorms; 2 C for the final LayerNorm. Example: gpt2 ->
50257*768 + 1024*768 + 12*(12*768^2 + 13*768) + 2*768 = 124,439,808.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from dlf.gpt.model import GPT, GPTConfig
from dlf.runs.architecture import Architecture, architecture

GPT_CONFIGS: dict[str, GPTConfig] = {
    "gpt2": GPTConfig(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": GPTConfig(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": GPTConfig(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": GPTConfig(n_layer=48, n_head=25, n_embd=1600),
    # the gpt-shakespeare-char and -bpe recipes' model (nanoGPT's CPU "baby GPT"), with the
    # 65 characters of Tiny Shakespeare or the 512-token BPE (block_size 64, vocab_size)
    "gpt-shakespeare-char": GPTConfig(64, 65, n_layer=4, n_head=4, n_embd=128),
    "gpt-shakespeare-bpe": GPTConfig(64, 512, n_layer=4, n_head=4, n_embd=128),
}

# The released checkpoints' parameter counts (the tied matrix once), as the formula above gives.
GPT2_PARAMETERS = {
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "gpt2-large": 774_030_080,
    "gpt2-xl": 1_557_611_200,
}


def gpt_config(name: str) -> GPTConfig:
    """A fresh copy of the named shape (``KeyError`` for an unknown name)."""
    return replace(GPT_CONFIGS[name])


def gpt2_parameters(n_layer: int, n_embd: int, vocab_size: int = 50257, block_size: int = 1024):
    """GPT-2's parameter count by the formula of the module doc (biases on, lm_head tied).

    Example: ``gpt2_parameters(12, 768)`` -> ``124439808``.
    """
    C = n_embd
    return vocab_size * C + block_size * C + n_layer * (12 * C * C + 13 * C) + 2 * C


def gpt_architecture(name: str, tokens: int | None = None) -> tuple[Architecture, str]:
    """The named GPT built on the meta device (no memory), traced on ``tokens`` token ids
    (default: its whole context), and a line comparing its parameters with the reference.

    Raises ``KeyError`` for an unknown name, ``ValueError`` for a context it cannot take.
    """
    config = gpt_config(name)
    T = config.block_size if tokens is None else tokens
    if not 1 <= T <= config.block_size:
        raise ValueError(f"{name} takes 1 to {config.block_size} tokens, not {T}")
    with torch.device("meta"):
        model = GPT(config)
        idx = torch.zeros(1, T, dtype=torch.long)
    arch = architecture(model, idx, tokens=T, title=name)
    total = arch.parameters
    line = (
        f"{name}: {total:,} parameters (vocabulary {config.vocab_size:,}, context "
        f"{config.block_size:,}, {config.n_layer} layers, {config.n_head} heads, width "
        f"{config.n_embd}; wte and lm_head tied, counted once)"
    )
    if name in GPT2_PARAMETERS:
        same = "the same" if total == GPT2_PARAMETERS[name] else "DIFFERENT"
        line += f"\nreleased {name} checkpoint: {GPT2_PARAMETERS[name]:,} parameters ({same})"
    return arch, line
