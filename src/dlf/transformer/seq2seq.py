"""Sequence-to-sequence with recurrent networks, with and without attention.

    Sutskever et al. 2014:  encoder h_1..h_S -> one state -> decoder s_1..s_T
    Bahdanau et al. 2015:   the decoder also looks back at every h_j at every step (attention)

The model takes token ids like :class:`dlf.transformer.Transformer` (one shared vocabulary and
embedding matrix for source and target) and returns next-token logits, so the same training
loop (:mod:`dlf.transformer.seq2seq_training`) drives both. The encoder is unidirectional
(Bahdanau et al. used a bidirectional one), which keeps the comparison with the plain RNN fair.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dlf.transformer.rnn import CELLS, RNNDecoder, RNNEncoder, State


@dataclass
class Seq2SeqConfig:
    """``cell``: "rnn" or "lstm"; ``attention``: Bahdanau attention in the decoder;
    ``d_attention``: width of the additive-attention layer (0 = ``d_hidden``)."""

    vocab_size: int
    d_embedding: int = 64
    d_hidden: int = 128
    cell: str = "lstm"
    attention: bool = False
    d_attention: int = 0
    pad_id: int = 0

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell={self.cell!r} is not known: choose one of {tuple(CELLS)}")


@dataclass
class Memory:
    """What the encoder hands the decoder: outputs h_1..h_S (B, S, H), the source mask (B, S),
    the final state, and W_h h (B, S, d_attention) precomputed for attention (or None)."""

    outputs: Tensor
    mask: Tensor
    state: State
    projected: Tensor | None

    def expand(self, rows: int) -> Memory:
        """The memory of one source repeated for ``rows`` decoder rows (as beam search needs)."""
        if self.outputs.size(0) != 1:
            raise ValueError(
                f"only a memory of batch 1 expands, this one has {self.outputs.size(0)}"
            )
        state = self.state
        state = (
            tuple(s.expand(rows, -1) for s in state)
            if isinstance(state, tuple)
            else state.expand(rows, -1)
        )
        projected = None if self.projected is None else self.projected.expand(rows, -1, -1)
        return Memory(
            self.outputs.expand(rows, -1, -1), self.mask.expand(rows, -1), state, projected
        )


class Seq2Seq(nn.Module):
    """Encoder-decoder RNN over token ids.

    - ``encode(src)``: src (B, S) ids, right-padded with ``pad_id`` -> :class:`Memory`.
      ``encode_embeddings(x, mask)`` does the same from embeddings x (B, S, d_embedding).
    - ``decode_step(y_prev, state, memory)``: y_prev (B,) ids -> ``(logits (B, V), state)``.
    - ``forward(src, tgt)``: teacher forcing, tgt (B, T) = [BOS] + target -> logits (B, T, V),
      logits[:, i] predicting target token i.
    With ``record_attention(True)`` the attention weights of the last decode are kept in
    ``last_weights`` (B, T, S).
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.d_embedding)
        self.encoder = RNNEncoder(c.cell, c.d_embedding, c.d_hidden)
        self.decoder = RNNDecoder(c.cell, c.d_embedding, c.d_hidden, c.attention, c.d_attention)
        self.output_projection = nn.Linear(self.decoder.out_features, c.vocab_size)
        self.record_weights = False
        self.last_weights: Tensor | None = None

    def encode_embeddings(self, x: Tensor, mask: Tensor) -> Memory:
        outputs, state = self.encoder(x, mask)
        attention = self.decoder.attention
        projected = attention.precompute(outputs) if attention is not None else None
        return Memory(outputs, mask, state, projected)

    def encode(self, src: Tensor) -> Memory:
        return self.encode_embeddings(self.embedding(src), src != self.config.pad_id)

    def decode_step(
        self, y_prev: Tensor, state: State, memory: Memory
    ) -> tuple[Tensor, State, Tensor | None]:
        """One decoder step: ``(logits (B, V), new state, attention weights (B, S) or None)``."""
        out, state, weights = self.decoder.step(
            self.embedding(y_prev), state, memory.outputs, memory.mask, memory.projected
        )
        return self.output_projection(out), state, weights

    def decode(self, tgt: Tensor, memory: Memory) -> Tensor:
        """Teacher forcing: feed tgt[:, i] at step i, from the encoder's final state.
        tgt (B, T) -> logits (B, T, V)."""
        state, logits, weights = memory.state, [], []
        for i in range(tgt.size(1)):
            step_logits, state, w = self.decode_step(tgt[:, i], state, memory)
            logits.append(step_logits)
            weights.append(w)
        if self.record_weights and weights and weights[0] is not None:
            self.last_weights = torch.stack(weights, dim=1).detach()
        return torch.stack(logits, dim=1)

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        return self.decode(tgt, self.encode(src))

    def record_attention(self, on: bool = True) -> None:
        """Keep the attention weights (B, T, S) of each ``decode`` in ``last_weights``, or stop."""
        self.record_weights, self.last_weights = on, None
