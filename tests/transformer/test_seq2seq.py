import pytest
import torch

from dlf.transformer import Seq2Seq, Seq2SeqConfig


def _model(cell="lstm", attention=True, seed=0):
    torch.manual_seed(seed)
    config = Seq2SeqConfig(vocab_size=11, d_embedding=5, d_hidden=7, cell=cell, attention=attention)
    return Seq2Seq(config).double().eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("attention", [False, True])
def test_teacher_forcing_equals_step_by_step(cell, attention):
    model = _model(cell, attention)
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    tgt = torch.tensor([[1, 3, 4], [1, 9, 0]])
    logits = model(src, tgt)
    assert logits.shape == (2, 3, 11)
    memory = model.encode(src)
    state = memory.state
    for i in range(tgt.size(1)):
        step_logits, state, _ = model.decode_step(tgt[:, i], state, memory)
        torch.testing.assert_close(step_logits, logits[:, i])


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("attention", [False, True])
def test_padding_does_not_change_a_row(cell, attention):
    """A row padded on the right decodes exactly as it does alone, unpadded."""
    model = _model(cell, attention, seed=3)
    padded = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
    tgt = torch.tensor([[1, 5, 6], [1, 4, 4]])
    both = model(padded, tgt)
    alone = model(torch.tensor([[8, 9, 10]]), tgt[1:])
    torch.testing.assert_close(both[1:], alone)


def test_source_changes_reach_the_output_without_attention():
    """Without attention all the source passes through the final state, and still arrives."""
    model = _model("lstm", attention=False)
    tgt = torch.tensor([[1, 3]])
    a = model(torch.tensor([[3, 4, 5]]), tgt)
    b = model(torch.tensor([[9, 4, 5]]), tgt)
    assert (a - b).abs().max() > 1e-6


def test_attention_weights_are_recorded_and_ignore_padding():
    model = _model("lstm", attention=True)
    model.record_attention(True)
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    model(src, torch.tensor([[1, 3, 4], [1, 9, 9]]))
    weights = model.last_weights
    assert weights.shape == (2, 3, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, dtype=torch.float64))
    assert bool((weights[1, :, 2:] == 0).all())


def test_memory_expands_for_beams():
    model = _model("lstm", attention=True)
    memory = model.encode(torch.tensor([[3, 4, 5]]))
    wide = memory.expand(4)
    assert wide.outputs.shape[0] == 4 and wide.state[0].shape[0] == 4
    with pytest.raises(ValueError, match="batch 1"):
        wide.expand(2)


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        Seq2SeqConfig(vocab_size=5, cell="gru")
