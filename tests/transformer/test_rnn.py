import pytest
import torch
from torch import nn

from dlf.transformer import BahdanauAttention, LSTMCell, RNNCell, RNNDecoder, RNNEncoder

CELL_PAIRS = [(RNNCell, nn.RNNCell), (LSTMCell, nn.LSTMCell)]


def _copy_cell(ours: nn.Module, ref: nn.Module) -> None:
    ref.load_state_dict(ours.state_dict())  # same names and layouts as PyTorch


@pytest.mark.parametrize(("ours_cls", "ref_cls"), CELL_PAIRS)
@pytest.mark.parametrize(("batch", "n_in", "n_hidden"), [(1, 3, 4), (5, 7, 2), (3, 16, 16)])
def test_cell_matches_pytorch(ours_cls, ref_cls, batch, n_in, n_hidden):
    torch.manual_seed(batch + n_in)
    ours = ours_cls(n_in, n_hidden).double()
    ref = ref_cls(n_in, n_hidden).double()
    _copy_cell(ours, ref)
    x = torch.randn(batch, n_in, dtype=torch.float64)
    h = torch.randn(batch, n_hidden, dtype=torch.float64)
    if ours_cls is LSTMCell:
        state = (h, torch.randn(batch, n_hidden, dtype=torch.float64))
        for a, b in zip(ours(x, state), ref(x, state), strict=True):
            torch.testing.assert_close(a, b)
        for a, b in zip(ours(x), ref(x), strict=True):  # no state = zeros
            torch.testing.assert_close(a, b)
    else:
        torch.testing.assert_close(ours(x, h), ref(x, h))
        torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell])
def test_cell_gradcheck(cls):
    torch.manual_seed(0)
    cell = cls(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    if cls is LSTMCell:
        c = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, h, c: cell(x, (h, c)), (x, h, c))
    else:
        assert torch.autograd.gradcheck(cell, (x, h))
    # and through the parameters
    names = [name for name, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())

    def of_params(*ps):
        return torch.func.functional_call(cell, dict(zip(names, ps, strict=True)), (x,))

    assert torch.autograd.gradcheck(of_params, params)


def test_initialisation_bound_is_pytorchs():
    cell = LSTMCell(5, 9)
    bound = 9**-0.5
    for p in cell.parameters():
        assert p.abs().max() <= bound and p.abs().max() > 0.5 * bound


@pytest.mark.parametrize(("kind", "ref_cls"), [("rnn", nn.RNN), ("lstm", nn.LSTM)])
def test_encoder_matches_pytorch_with_padding(kind, ref_cls):
    """Unrolled over right-padded rows, the outputs at real tokens and the final state equal
    PyTorch's multi-step RNN run on the packed (unpadded) sequences."""
    torch.manual_seed(1)
    encoder = RNNEncoder(kind, 4, 6).double()
    ref = ref_cls(4, 6, batch_first=True).double()
    with torch.no_grad():
        for name, p in encoder.cell.named_parameters():
            getattr(ref, f"{name}_l0").copy_(p)
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    mask = torch.arange(5)[None, :] < lengths[:, None]
    outputs, state = encoder(x, mask)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, ref_state = ref(packed)
    ref_out, _ = nn.utils.rnn.pad_packed_sequence(ref_out, batch_first=True)
    torch.testing.assert_close(outputs * mask[..., None], ref_out)
    if kind == "lstm":
        torch.testing.assert_close(state[0], ref_state[0][0])
        torch.testing.assert_close(state[1], ref_state[1][0])
    else:
        torch.testing.assert_close(state, ref_state[0])


@pytest.mark.parametrize(("B", "S", "d"), [(1, 1, 3), (2, 5, 4), (4, 3, 8)])
def test_bahdanau_attention_is_the_additive_formula(B, S, d):
    torch.manual_seed(S)
    attention = BahdanauAttention(d, d + 1, 5).double()
    query = torch.randn(B, d, dtype=torch.float64)
    keys = torch.randn(B, S, d + 1, dtype=torch.float64)
    mask = torch.ones(B, S, dtype=torch.bool)
    mask[0, S - 1 :] = S == 1  # mask the last key of row 0 (unless it is the only one)
    context, weights = attention(query, keys, mask)
    for b in range(B):
        scores = torch.stack(
            [
                attention.v.weight[0]
                @ torch.tanh(attention.W_s.weight @ query[b] + attention.W_h(keys[b, j]))
                for j in range(S)
            ]
        )
        scores[~mask[b]] = -torch.inf
        expected = scores.softmax(-1)
        torch.testing.assert_close(weights[b], expected)
        torch.testing.assert_close(context[b], expected @ keys[b])
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, dtype=torch.float64))
    assert bool((weights[~mask] == 0).all())


def test_decoder_with_attention_needs_memory():
    decoder = RNNDecoder("lstm", 4, 6, attention=True)
    state = decoder.cell.zero_state(2, torch.zeros(1))
    with pytest.raises(ValueError, match="memory"):
        decoder.step(torch.zeros(2, 4), state)


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        RNNEncoder("gru", 3, 4)
