"""Recurrent networks, the models attention replaced: a vanilla RNN cell, an LSTM cell, and the
encoder and decoder that unroll them over a sequence, one step at a time.

    vanilla RNN (Elman 1990):  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000):
        i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

Why they struggle: the gradient reaching x_t from step T is a product of T - t Jacobians
dh_k / dh_{k-1} = diag(1 - h_k^2) W_hh. Its norm shrinks (or grows) geometrically with the
distance T - t. The LSTM's cell state carries information through an additive path scaled by
the forget gate only, so it fades much more slowly; attention gives every position a path of
length one.

Parameter names and layouts are PyTorch's (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``; LSTM gates stacked in the order i, f, g, o), so ``nn.RNNCell`` / ``nn.LSTMCell``
state dicts load as they are.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

State = Tensor | tuple[Tensor, Tensor]  # h for the vanilla RNN, (h, c) for the LSTM


class RNNCell(nn.Module):
    """One step of a vanilla (Elman) RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    ``forward(x, h=None)``: x (B, input_size), h (B, hidden_size) or None (zeros)
    -> h_t (B, hidden_size). Same parameters and initialisation as ``nn.RNNCell``:
    every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def zero_state(self, batch_size: int, like: Tensor) -> Tensor:
        """h_0 = 0: (batch_size, hidden_size), on ``like``'s device and dtype."""
        return like.new_zeros(batch_size, self.hidden_size)

    @staticmethod
    def output(state: Tensor) -> Tensor:
        """The hidden vector h_t that the layers above see (the state itself here)."""
        return state

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        if h is None:
            h = self.zero_state(x.size(0), x)
        return torch.tanh(x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh)


class LSTMCell(nn.Module):
    """One step of an LSTM.

        [i; f; g; o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      (4 * hidden_size rows)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    ``forward(x, state=None)``: x (B, input_size), state ``(h, c)`` each (B, hidden_size) or
    None (zeros) -> ``(h_t, c_t)``. Same parameters and initialisation as ``nn.LSTMCell``.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def zero_state(self, batch_size: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """(h_0, c_0) = (0, 0), each (batch_size, hidden_size)."""
        zeros = like.new_zeros(batch_size, self.hidden_size)
        return zeros, zeros

    @staticmethod
    def output(state: tuple[Tensor, Tensor]) -> Tensor:
        """The hidden vector h_t that the layers above see (not the cell state c_t)."""
        return state[0]

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        h, c = self.zero_state(x.size(0), x) if state is None else state
        gates = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


CELLS = {"rnn": RNNCell, "lstm": LSTMCell}


def make_cell(kind: str, input_size: int, hidden_size: int) -> RNNCell | LSTMCell:
    """``"rnn"`` -> RNNCell, ``"lstm"`` -> LSTMCell."""
    if kind not in CELLS:
        raise ValueError(f"cell={kind!r} is not known: choose one of {tuple(CELLS)}")
    return CELLS[kind](input_size, hidden_size)


def keep_where(mask: Tensor, new: State, old: State) -> State:
    """Per row, the new state where ``mask`` (B,) is True and the old one elsewhere, so that
    padding steps leave the state untouched.

    Example: mask [T, F], new h [[1], [2]], old h [[0], [0]] -> [[1], [0]].
    """
    if isinstance(new, tuple):
        return tuple(keep_where(mask, n, o) for n, o in zip(new, old, strict=True))
    return torch.where(mask[:, None], new, old)


class RNNEncoder(nn.Module):
    """A cell unrolled over the source: h_t = cell(x_t, h_{t-1}), t = 1..S, from h_0 = 0.

    ``forward(x, mask=None)``: embeddings x (B, S, input_size); ``mask`` (B, S) boolean, True at
    real tokens (right padding: the state stops changing after a row's last token)
    -> ``(outputs, state)``: outputs (B, S, hidden_size), h_t at every step, and the final
    state (h, or (h, c) for an LSTM) after each row's last real token.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.cell = make_cell(cell, input_size, hidden_size)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, State]:
        state = self.cell.zero_state(x.size(0), x)
        outputs = []
        for t in range(x.size(1)):
            new = self.cell(x[:, t], state)
            state = new if mask is None else keep_where(mask[:, t], new, state)
            outputs.append(self.cell.output(state))
        return torch.stack(outputs, dim=1), state


class BahdanauAttention(nn.Module):
    """Additive attention (Bahdanau, Cho & Bengio 2015, appendix A.1.2).

        e_j   = v^T tanh(W_s s + W_h h_j)           (score of encoder output h_j for query s)
        a     = softmax(e) over the unmasked j
        c     = sum_j a_j h_j                       (the context vector)

    ``forward(query, keys, mask=None)``: query s (B, d_query), keys h (B, S, d_key), ``mask``
    (B, S) True at real tokens -> ``(context (B, d_key), weights (B, S))``.
    ``precompute(keys)`` = W_h h, reusable at every decoder step; pass it as ``projected``.
    """

    def __init__(self, d_query: int, d_key: int, d_attention: int) -> None:
        super().__init__()
        self.W_s = nn.Linear(d_query, d_attention, bias=False)
        self.W_h = nn.Linear(d_key, d_attention)
        self.v = nn.Linear(d_attention, 1, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.W_h(keys)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        mask: Tensor | None = None,
        projected: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        projected = self.precompute(keys) if projected is None else projected
        scores = self.v(torch.tanh(self.W_s(query)[:, None, :] + projected)).squeeze(-1)
        if mask is not None:  # as in scaled_dot_product_attention: masked keys get exactly 0
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = scores.softmax(dim=-1)
        if mask is not None:
            weights = weights.masked_fill(~mask, 0.0)
        return (weights[:, :, None] * keys).sum(dim=1), weights


class RNNDecoder(nn.Module):
    """A cell unrolled over the target, fed its previous token (and, with attention, a context).

    Without attention (Sutskever et al. 2014): s_i = cell(y_{i-1}, s_{i-1}), starting from the
    encoder's final state; logits_i = W_out s_i. All of the source must squeeze through that one
    final state.
    With attention (Bahdanau et al. 2015): c_i = Attention(s_{i-1}, h_1..h_S);
    s_i = cell([y_{i-1}; c_i], s_{i-1}); logits_i = W_out [s_i; c_i].

    ``step(y_prev, state, memory=None, mask=None, projected=None)``: y_prev embeddings
    (B, input_size) -> ``(output (B, out_features), state, weights (B, S) or None)``; the
    output goes to the vocabulary projection.
    """

    def __init__(
        self, cell: str, input_size: int, hidden_size: int, attention: bool, d_attention: int = 0
    ) -> None:
        super().__init__()
        self.attention = (
            BahdanauAttention(hidden_size, hidden_size, d_attention or hidden_size)
            if attention
            else None
        )
        extra = hidden_size if attention else 0
        self.cell = make_cell(cell, input_size + extra, hidden_size)
        self.out_features = hidden_size + extra

    def step(
        self,
        y_prev: Tensor,
        state: State,
        memory: Tensor | None = None,
        mask: Tensor | None = None,
        projected: Tensor | None = None,
    ) -> tuple[Tensor, State, Tensor | None]:
        if self.attention is None:
            state = self.cell(y_prev, state)
            return self.cell.output(state), state, None
        if memory is None:
            raise ValueError("a decoder with attention needs the encoder outputs (memory)")
        context, weights = self.attention(self.cell.output(state), memory, mask, projected)
        state = self.cell(torch.cat([y_prev, context], dim=-1), state)
        return torch.cat([self.cell.output(state), context], dim=-1), state, weights
