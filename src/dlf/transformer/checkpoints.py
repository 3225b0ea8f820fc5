"""Module 3's critical checkpoints, each proven by a number on small random inputs.

``dlf checkpoints`` runs the list ``CHECKPOINTS``; each check returns ``Evidence(passed, figure)``.
Everything runs in float64, so "equal" means equal to ~1e-12, not to float32 noise.
"""

from __future__ import annotations

import torch
from torch import nn

from dlf.path import Checkpoint, Evidence
from dlf.transformer.attention import causal_mask, padding_mask, scaled_dot_product_attention
from dlf.transformer.model import (
    PAPER_BASE_PARAMETERS,
    Transformer,
    TransformerConfig,
    base_parameter_count,
)
from dlf.transformer.multi_head import MultiHeadAttention

EXACT = 1e-10  # float64 round-off of these small sums, with a wide margin


def _tiny_transformer(positional: str, seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    config = TransformerConfig(
        vocab_size=20, d_model=32, n_heads=4, n_encoder_layers=2, n_decoder_layers=2,
        d_ff=64, dropout=0.0, positional=positional, max_len=64,
    )  # fmt: skip
    return Transformer(config).double().eval()


def check_attention_rows() -> Evidence:
    """Every row of the attention weights sums to 1 and masked keys get exactly 0, under a
    causal mask combined with a padding mask."""
    g = torch.Generator().manual_seed(0)
    B, h, L, d = 3, 2, 7, 8
    q, k, v = (torch.randn(B, h, L, d, generator=g, dtype=torch.float64) for _ in range(3))
    tokens = torch.ones(B, L, dtype=torch.long)
    tokens[1, 5:] = 0  # row 1 ends in two padding tokens
    tokens[2, 3:] = 0
    mask = causal_mask(L) & padding_mask(tokens, pad_id=0)  # (B, 1, L, L)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    row_error = float((weights.sum(-1) - 1).abs().max())
    masked = weights.masked_select(~mask.expand_as(weights))
    leak = float(masked.abs().max())
    return Evidence(
        row_error < EXACT and leak == 0.0,
        f"max |row sum - 1| = {row_error:.1e} over {B * h * L} rows; "
        f"max weight on the {masked.numel()} masked keys = {leak:g}",
    )


@torch.no_grad()
def check_multi_head_parity() -> Evidence:
    """Our MultiHeadAttention equals ``nn.MultiheadAttention`` given the same weights (cross-
    attention with a key padding mask)."""
    torch.manual_seed(0)
    d_model, n_heads = 32, 4
    ours = MultiHeadAttention(d_model, n_heads).double().eval()
    ref = nn.MultiheadAttention(d_model, n_heads, batch_first=True, dtype=torch.float64).eval()
    for p in ours.parameters():
        p.normal_(0.0, 0.3)  # not the initial zeros of the biases: parity must not be luck
    ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
    ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
    ref.out_proj.weight.copy_(ours.W_o.weight)
    ref.out_proj.bias.copy_(ours.W_o.bias)
    query = torch.randn(2, 5, d_model, dtype=torch.float64)
    memory = torch.randn(2, 9, d_model, dtype=torch.float64)
    tokens = torch.ones(2, 9, dtype=torch.long)
    tokens[1, 6:] = 0
    out, weights = ours(query, memory, memory, padding_mask(tokens, 0), need_weights=True)
    ref_out, ref_weights = ref(
        query, memory, memory, key_padding_mask=tokens == 0, average_attn_weights=False
    )
    error = max(float((out - ref_out).abs().max()), float((weights - ref_weights).abs().max()))
    return Evidence(
        error < EXACT,
        f"max |ours - nn.MultiheadAttention| = {error:.1e} (outputs and per-head weights, "
        f"d_model {d_model}, {n_heads} heads, padded keys)",
    )


@torch.no_grad()
def check_permutation_equivariance() -> Evidence:
    """Without positional information the encoder is permutation-equivariant,
    Enc(P x) = P Enc(x); with sinusoidal positions it is not."""
    g = torch.Generator().manual_seed(1)
    src = torch.randint(3, 20, (2, 10), generator=g)
    perm = torch.randperm(10, generator=g)
    errors = {}
    for positional in ("none", "sinusoidal"):
        model = _tiny_transformer(positional)
        errors[positional] = float(
            (model.encode(src[:, perm]) - model.encode(src)[:, perm]).abs().max()
        )
    return Evidence(
        errors["none"] < EXACT and errors["sinusoidal"] > 1e-3,
        f"max |Enc(Px) - P Enc(x)|: no positions {errors['none']:.1e}, "
        f"sinusoidal {errors['sinusoidal']:.2f}",
    )


@torch.no_grad()
def check_causal_mask() -> Evidence:
    """With a causal mask, the decoder's output at position t does not change when the tokens
    after t change (and does change when they are visible)."""
    g = torch.Generator().manual_seed(2)
    model = _tiny_transformer("sinusoidal")
    src = torch.randint(3, 20, (2, 8), generator=g)
    tgt = torch.randint(3, 20, (2, 9), generator=g)
    memory = model.encode(src)
    t = 4
    changed = tgt.clone()
    changed[:, t + 1 :] = torch.randint(3, 20, changed[:, t + 1 :].shape, generator=g)
    before, after = model.decode(tgt, memory), model.decode(changed, memory)
    past = float((before[:, : t + 1] - after[:, : t + 1]).abs().max())
    future = float((before[:, t + 1 :] - after[:, t + 1 :]).abs().max())
    no_mask = torch.ones(9, 9, dtype=torch.bool)
    unmasked = model.decode(tgt, memory, tgt_mask=no_mask)
    leaked = model.decode(changed, memory, tgt_mask=no_mask)
    without = float((unmasked[:, : t + 1] - leaked[:, : t + 1]).abs().max())
    return Evidence(
        past < EXACT and future > 1e-3 and without > 1e-3,
        f"tokens after t={t} changed: max change of outputs <= t {past:.1e} "
        f"(without the mask {without:.2f}); outputs > t change by {future:.2f}",
    )


def check_base_parameter_count() -> Evidence:
    """The base configuration (d_model 512, 6+6 layers, d_ff 2048, 8 heads, shared 37,000-token
    vocabulary) has about the paper's 65 M parameters; the explanation names the difference."""
    count, explanation = base_parameter_count()
    gap = (PAPER_BASE_PARAMETERS - count) / PAPER_BASE_PARAMETERS
    why = next(line for line in explanation.splitlines() if "vocabulary of" in line).strip()
    return Evidence(
        abs(gap) < 0.05,
        f"{count:,} ({count / 1e6:.1f} M) vs the paper's 65 M, {abs(gap):.1%} "
        f"{'fewer' if gap > 0 else 'more'}: {why}",
    )


CHECKPOINTS = [
    Checkpoint(
        3, "attention weights", "rows sum to 1 and masked keys get weight 0", check_attention_rows
    ),  # fmt: skip
    Checkpoint(
        3,
        "multi-head parity",
        "our multi-head attention equals nn.MultiheadAttention",
        check_multi_head_parity,
    ),  # fmt: skip
    Checkpoint(
        3,
        "permutation equivariance",
        "without positions the encoder is permutation-equivariant, with them it is not",
        check_permutation_equivariance,
    ),  # fmt: skip
    Checkpoint(
        3, "causal mask", "output t does not change when tokens after t change", check_causal_mask
    ),  # fmt: skip
    Checkpoint(
        3,
        "base parameter count",
        "the base model has about the paper's 65 M parameters",
        check_base_parameter_count,
    ),  # fmt: skip
]
