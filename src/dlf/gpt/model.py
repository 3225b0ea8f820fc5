"""A decoder-only Transformer language model: GPT-2 (Radford et al. 2019), after nanoGPT.

    h_0 = PE(W_te[x])                                 token embeddings + positions 0..T-1
                                                      (RoPE: rotates q and k inside Attn)
    h_l = h_{l-1} + Attn(LN_1(h_{l-1}))               pre-norm causal self-attention
    h_l = h_l + MLP(LN_2(h_l))                        GELU MLP, 4x wide
    logits = LN_f(h_L) W_te^T                         lm_head tied to the token embedding

The modules carry GPT-2's names, so ``state_dict()`` has GPT-2's keys (``transformer.wte``,
``transformer.wpe``, ``transformer.h.N.ln_1``, ``attn.c_attn``, ``attn.c_proj``, ``ln_2``,
``mlp.c_fc``, ``mlp.c_proj``, ``transformer.ln_f``, ``lm_head``) and Hugging Face's GPT-2
weights load by name (``dlf.gpt.pretrained``). The attention is Module 3's
``scaled_dot_product_attention`` under a ``causal_mask``, and the positions come from Module 3's
registry of positional encodings (``GPTConfig.positional``: GPT-2's "learned" by default, or
"sinusoidal", "rope", "none"; RoPE rotates each block's queries and keys instead of being added
to the embeddings). What is GPT's own: one fused q/k/v projection (``c_attn``), a KV cache for
generation, weight tying and GPT-2's initialisation.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlf.transformer.attention import causal_mask, scaled_dot_product_attention
from dlf.transformer.positional import (
    POSITIONAL_ENCODINGS,
    LearnedPositionalEmbedding,
    positional_encoding,
)

# One (k, v) pair per layer, each (B, n_head, S, head_dim): the keys and values of the S tokens
# seen so far. A plain tuple, so dlf.sampling.beam_search reorders its rows without help.
KVCache = tuple[tuple[Tensor, Tensor], ...]


@dataclass
class GPTConfig:
    """The shape of a GPT, with nanoGPT's names. The defaults are GPT-2 small (124M).

    ``attention``: "ours" (``dlf.transformer.scaled_dot_product_attention`` with a boolean
    causal mask) or "fused" (``torch.nn.functional.scaled_dot_product_attention``; the same
    numbers up to rounding), or "auto": fused, except under CPU autocast, where PyTorch's fused
    CPU kernel is the slower of the two at short contexts. ``bias``: biases in the Linear and
    LayerNorm layers (GPT-2: True).
    ``dropout``: on the embeddings, the attention weights and each residual branch.
    ``gelu``: "exact" (erf) or "tanh", the approximation
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) that GPT-2 was trained with.
    ``positional``: a name in ``dlf.transformer.positional.POSITIONAL_ENCODINGS``: "learned"
    (GPT-2's table of block_size vectors), "sinusoidal", "rope" (rotary, inside attention; the
    head dimension n_embd / n_head must be even) or "none".
    """

    block_size: int = 1024
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    attention: Literal["ours", "fused", "auto"] = "ours"
    gelu: Literal["exact", "tanh"] = "exact"
    positional: str = "learned"

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd={self.n_embd} must be divisible by n_head={self.n_head} "
                "(each head gets n_embd / n_head features)"
            )
        if self.attention not in ("ours", "fused", "auto"):
            raise ValueError(f"attention must be 'ours', 'fused' or 'auto', got {self.attention!r}")
        if self.gelu not in ("exact", "tanh"):
            raise ValueError(f"gelu must be 'exact' or 'tanh', got {self.gelu!r}")
        if min(self.block_size, self.vocab_size, self.n_layer) < 1:
            raise ValueError("block_size, vocab_size and n_layer must be >= 1")
        if self.positional not in POSITIONAL_ENCODINGS:
            raise ValueError(
                f"positional must be one of {', '.join(POSITIONAL_ENCODINGS)}, "
                f"got {self.positional!r}"
            )
        # the encoding's own rules (RoPE: an even head dimension), built on the meta device:
        # no memory, and no random draw that would change a seeded model's weights
        with torch.device("meta"):
            positional_encoding(self.positional, self.n_embd, self.n_head, max_len=1)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t attends to positions <= t only.

        q, k, v = split(x W_attn + b_attn)            (one fused projection, GPT-2's c_attn)
        y = Concat_h(softmax(q_h k_h^T / sqrt(d_h) + causal) v_h) W_proj + b_proj

    ``forward(x, kv_cache=None)``: x (B, T, C); ``kv_cache`` the (k, v) of the S0 earlier tokens,
    each (B, n_head, S0, C / n_head), or None. Returns ``(y, (k, v))`` with y (B, T, C) and the
    keys/values of all S0 + T tokens; the T new tokens are the last T positions.
    ``rotary``: a positional encoding applied inside attention (RoPE), or None: it rotates the
    new q_h and k_h as positions S0 .. S0 + T - 1 before the new keys join the cache.
    """

    def __init__(self, config: GPTConfig, rotary: nn.Module | None = None) -> None:
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.rotary = rotary
        self.attention = config.attention
        self.dropout_p = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, kv_cache: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        B, T, C = x.shape
        heads = [
            t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, h, T, d)
            for t in self.c_attn(x).split(C, dim=2)
        ]
        q, k, v = heads
        if self.rotary is not None:  # RoPE: the new tokens sit at positions S0 .. S0 + T - 1
            past = 0 if kv_cache is None else kv_cache[0].size(2)
            q, k = self.rotary(q, offset=past), self.rotary(k, offset=past)
        if kv_cache is not None:
            k = torch.cat([kv_cache[0], k], dim=2)
            v = torch.cat([kv_cache[1], v], dim=2)
        S = k.size(2)
        if self.uses_ours(x):
            mask = causal_mask(T, S, device=x.device)
            y, _ = scaled_dot_product_attention(q, k, v, mask, self.attn_dropout)
        else:
            p = self.dropout_p if self.training else 0.0
            if S == T:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:  # is_causal aligns to the top-left; with cached keys we need the bottom-right
                mask = causal_mask(T, S, device=x.device)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), (k, v)

    def uses_ours(self, x: Tensor) -> bool:
        """Whether this call takes dlf's attention rather than PyTorch's fused kernel."""
        if self.attention == "auto":
            return x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
        return self.attention == "ours"


class MLP(nn.Module):
    """GPT's MLP, position-wise (Module 3's feed-forward network with GELU and d_ff = 4 C):

        MLP(x) = GELU(x W_fc + b_fc) W_proj + b_proj,   x (..., C) -> (..., 4C) -> (..., C)

    ``c_fc`` and ``c_proj`` are GPT-2's names; ``config.gelu`` picks the exact or tanh GELU.
    The hidden layer has no dropout: GPT-2 drops the residual branch (``Block.dropout``).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.approximate = "tanh" if config.gelu == "tanh" else "none"

    def forward(self, x: Tensor) -> Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate=self.approximate))


class Block(nn.Module):
    """One pre-norm decoder block: x + Attn(LN_1(x)), then x + MLP(LN_2(x)).

    ``forward(x, kv_cache=None)``: x (B, T, C) -> ``(x, (k, v))``, see CausalSelfAttention.
    ``attention``: the class of ``attn`` (a subclass, e.g. a learner's, keeps the same weights);
    ``rotary``: the positional encoding its attention applies to q and k (RoPE), or None.
    """

    attention: type[CausalSelfAttention] = CausalSelfAttention

    def __init__(self, config: GPTConfig, rotary: nn.Module | None = None) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = self.attention(config, rotary)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, kv_cache: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        y, kv = self.attn(self.ln_1(x), kv_cache)
        x = x + self.dropout(y)
        x = x + self.dropout(self.mlp(self.ln_2(x)))
        return x, kv


class GPT(nn.Module):
    """The GPT language model: ids (B, T) -> next-token logits (B, T, vocab_size).

    ``forward(idx, targets=None) -> (logits, loss)``: idx int64 (B, T) with T <= block_size;
    logits (B, T, V); loss = mean cross-entropy of ``targets`` (B, T) (ignore_index -1), else None.
    ``step(idx, kv_cache=None) -> (logits, kv_cache)``: the same for the T new tokens that follow
    the cached ones; ``step_fn()`` adapts it to ``dlf.sampling.generate`` and ``beam_search``.

    Modules: ``transformer.wte`` (V, C) token embedding, ``transformer.wpe`` the positional
    encoding that ``config.positional`` names (GPT-2's "learned": a (block_size, C) table,
    ``transformer.wpe.weight``), added to the token embeddings or, if its ``inside_attention``
    (RoPE), handed to every block's attention; ``transformer.drop``, ``transformer.h`` (the
    n_layer blocks), ``transformer.ln_f``, and ``lm_head`` whose weight is ``transformer.wte``'s
    (weight tying, Press & Wolf 2017: one matrix, counted and trained once).

    Initialisation (GPT-2): every Linear and Embedding weight and a learned position table
    ~ N(0, 0.02^2), biases 0; the projections that end a residual branch (``attn.c_proj``,
    ``mlp.c_proj``) ~ N(0, (0.02 / sqrt(2 n_layer))^2), so the residual stream's variance does
    not grow with depth.

    ``block``: the class of the ``n_layer`` blocks (a subclass, e.g. a learner's, keeps the same
    weights and the same order of random draws).
    """

    block: type[Block] = Block

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        wpe = positional_encoding(
            config.positional, config.n_embd, config.n_head, config.block_size
        )
        rotary = wpe if wpe.inside_attention else None  # RoPE: applied in every attention layer
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=wpe,
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(self.block(config, rotary) for _ in range(config.n_layer)),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied: one matrix, counted once
        self.apply(init_gpt2_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for block in self.transformer.h:
            nn.init.normal_(block.attn.c_proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.c_proj.weight, mean=0.0, std=residual_std)

    def num_params(self, non_embedding: bool = True) -> int:
        """Number of distinct parameters (the tied wte/lm_head matrix once).

        ``non_embedding=True`` leaves out the positional encoding's parameters (a learned table;
        sinusoids and RoPE have none), as nanoGPT does; the token embedding stays in, since as the
        lm_head it is a weight of the last layer.
        Example: GPT-2 small -> 124,439,808 in all, 123,653,376 non-embedding.
        """
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= sum(p.numel() for p in self.transformer.wpe.parameters())
        return n

    def step(self, idx: Tensor, kv_cache: KVCache | None = None) -> tuple[Tensor, KVCache]:
        """Logits (B, T, V) of the T tokens ``idx`` (B, T) that follow the ``kv_cache``'s tokens,
        and the cache grown by them. ``kv_cache=None``: idx starts at position 0."""
        past = 0 if kv_cache is None else kv_cache[0][0].size(2)
        T = idx.size(1)
        if past + T > self.config.block_size:
            raise ValueError(
                f"sequence of {past + T} tokens is longer than block_size="
                f"{self.config.block_size}: crop the input to its last block_size tokens"
            )
        x = self.transformer.wte(idx)
        if not self.transformer.wpe.inside_attention:  # the positions past .. past + T - 1
            x = self.transformer.wpe(x, offset=past)
        x = self.transformer.drop(x)
        new_cache = []
        for i, block in enumerate(self.transformer.h):
            x, kv = block(x, None if kv_cache is None else kv_cache[i])
            new_cache.append(kv)
        return self.lm_head(self.transformer.ln_f(x)), tuple(new_cache)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        logits, _ = self.step(idx)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1
        )
        return logits, loss

    def step_fn(self, use_cache: bool = True):
        """A ``step_fn(ids, cache) -> (logits (B, V), cache)`` for ``dlf.sampling``.

        With ``use_cache`` only the tokens not yet in the cache go through the model. Once the
        sequence is longer than block_size it is cropped to its last block_size tokens and
        recomputed at every step without a cache, as nanoGPT's ``generate`` does: the window
        then sits at positions 0 .. block_size - 1, as in training, whatever the encoding
        (learned positions stop at block_size; sinusoids and RoPE never saw positions beyond
        it). Call ``model.eval()`` first to switch dropout off.
        """
        block_size = self.config.block_size

        def step_fn(ids: Tensor, cache: KVCache | None) -> tuple[Tensor, KVCache | None]:
            if not use_cache or ids.size(1) > block_size:
                logits, _ = self.step(ids[:, -block_size:])
                return logits[:, -1, :], None
            past = 0 if cache is None else cache[0][0].size(2)
            logits, cache = self.step(ids[:, past:], cache)
            return logits[:, -1, :], cache

        return step_fn

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **config: object) -> GPT:
        """The GPT-2 saved in Hugging Face's layout in the folder ``path`` (``config.json`` and
        ``model.safetensors``), any size, in eval mode; ``config``: other GPTConfig fields
        (``dropout``, ``attention``). See :func:`dlf.gpt.pretrained.load_pretrained`."""
        from dlf.gpt.pretrained import load_pretrained

        return load_pretrained(path, cls, **config)

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Write this GPT in Hugging Face's GPT-2 layout into the folder ``path``, which
        ``transformers.GPT2LMHeadModel.from_pretrained`` loads.
        See :func:`dlf.gpt.pretrained.save_pretrained`."""
        from dlf.gpt.pretrained import save_pretrained

        save_pretrained(self, path)

    def configure_optimizer(
        self,
        weight_decay: float,
        learning_rate: float,
        betas: tuple[float, float] = (0.9, 0.95),
    ) -> torch.optim.AdamW:
        """AdamW (Loshchilov & Hutter 2019) with weight decay on the matrices only.

        As in nanoGPT, every parameter of 2 or more dimensions decays (the Linear weights and
        the token embedding and a learned position table); biases and LayerNorm gains/shifts
        (1-D) do not, since shrinking a gain or a shift toward 0 is not a useful prior. Two
        param groups: ``[decayed, not decayed]``.
        """
        params = list(self.parameters())  # distinct: the tied matrix appears once
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        # PyTorch's fused kernel (CPU or CUDA): one pass per tensor rather than one per operation
        fused = bool(params) and all(p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, fused=fused or None)


def init_gpt2_weights(module: nn.Module) -> None:
    """GPT-2's initialisation of one module: Linear and Embedding weights and a learned position
    table (``LearnedPositionalEmbedding.weight``) ~ N(0, 0.02^2), Linear biases 0 (LayerNorm
    keeps gain 1, shift 0). Use with ``model.apply``."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding | LearnedPositionalEmbedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
