"""beam_search(): width 1 is greedy, a wide beam is exhaustive search, it beats greedy where
greedy's first choice is a trap, its cache and batching follow the beams, and it drives an
encoder-decoder and a decoder-only model alike."""

import itertools

import pytest
import torch
from torch import nn

from dlf.sampling import beam_search, generate


def exhaustive_best(model, prompt, vocab, eos, max_len, alpha):
    """Best length-penalised score over every sequence: ended by eos, or max_len long."""
    best = (float("-inf"), None)
    for length in range(1, max_len + 1):
        for body in itertools.product([t for t in range(vocab) if t != eos], repeat=length - 1):
            for last in range(vocab):
                ids = [*body, last]
                if last != eos and length < max_len:
                    continue
                score = model.log_prob(prompt, ids) / length**alpha
                best = max(best, (score, ids), key=lambda pair: pair[0])
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("eos", [None, 3])
def test_width_one_is_greedy_exactly(toys, seed, eos):
    model = toys.markov(toys.table(12, seed, concentration=0.3))
    stop = [] if eos is None else [eos]
    greedy_ids = list(generate(model.step_fn, [0], 15, stop_ids=stop, include_stop=True))
    result = beam_search(model.step_fn, [0], beam_width=1, max_new_tokens=15, eos_id=eos)
    assert result.ids == greedy_ids
    assert result.log_prob == pytest.approx(model.log_prob([0], greedy_ids), abs=1e-12)


def test_beam_escapes_the_greedy_trap(toys):
    bos, a, b, c, d, eos = range(6)
    table = torch.zeros(6, 6, dtype=torch.float64)
    table[bos, [a, b, c]] = torch.tensor([0.50, 0.45, 0.05], dtype=torch.float64)
    table[a, [a, b, c, d]] = 0.25  # greedy's first choice: every continuation is unlikely
    table[b, [c, d]] = torch.tensor([0.05, 0.95], dtype=torch.float64)
    table[c, eos] = table[d, eos] = table[eos, eos] = 1.0
    model = toys.markov(table)
    greedy_ids = list(generate(model.step_fn, [bos], 4, stop_ids=[eos], include_stop=True))
    assert greedy_ids[0] == a
    result = beam_search(model.step_fn, [bos], beam_width=2, max_new_tokens=4, eos_id=eos)
    assert result.ids == [b, d, eos]
    assert result.log_prob == pytest.approx(model.log_prob([bos], [b, d, eos]), abs=1e-12)
    assert result.log_prob > model.log_prob([bos], greedy_ids) + 3.0  # -0.85 against -4.85
    assert [h.ids[-1] for h in result.finished] == [eos] * len(result.finished)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_a_beam_that_prunes_nothing_finds_the_exhaustive_optimum(toys, alpha, seed):
    vocab, eos, max_len = 4, 3, 4
    model = toys.markov(toys.table(vocab, seed, concentration=0.7))
    score, ids = exhaustive_best(model, [0], vocab, eos, max_len, alpha)
    result = beam_search(model.step_fn, [0], vocab**max_len, max_len, eos, length_penalty=alpha)
    assert result.ids == ids
    assert result.score == pytest.approx(score, abs=1e-12)
    scores = [h.score for h in result.finished]
    assert scores == sorted(scores, reverse=True)


def test_one_batched_call_per_step_and_early_stop(toys):
    table = toys.table(10, seed=5, concentration=0.3)
    table[:, 9] += 0.5  # eos is likely, so every beam ends early
    model = toys.markov(table / table.sum(-1, keepdim=True))
    result = beam_search(model.step_fn, [0, 1], beam_width=3, max_new_tokens=50, eos_id=9)
    steps = len(model.calls)
    assert steps < 50  # stopped once all beams ended with eos
    assert model.calls[0] == (1, 2)
    assert all(1 <= rows <= 3 and length == 2 + t for t, (rows, length) in enumerate(model.calls))
    assert result.ids[-1] == 9


@pytest.mark.parametrize("beam_width", [1, 3, 5])
def test_cache_rows_follow_their_beams(toys, beam_width):
    model = toys.history(9, seed=2)
    plain = beam_search(model.step_fn, [4], beam_width, 12, eos_id=0, length_penalty=0.7)
    cached = beam_search(model.cached_step_fn, [4], beam_width, 12, eos_id=0, length_penalty=0.7)
    assert cached.ids == plain.ids
    assert cached.log_prob == plain.log_prob
    assert [h.ids for h in cached.finished] == [h.ids for h in plain.finished]


class TinySeq2Seq(nn.Module):
    """A small torch encoder-decoder with random weights, as a decoding target."""

    def __init__(self, vocab=11, d=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.core = nn.Transformer(d, 2, 1, 1, 32, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def encode(self, src):
        return self.core.encoder(self.embed(src))

    def decode(self, ids, memory):
        mask = nn.Transformer.generate_square_subsequent_mask(ids.shape[1], dtype=torch.float64)
        return self.out(
            self.core.decoder(self.embed(ids), memory, tgt_mask=mask, tgt_is_causal=True)
        )


class TinyGRULM(nn.Module):
    """A small decoder-only language model whose recurrent state is its cache."""

    def __init__(self, vocab=11, d=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.rnn = nn.GRU(d, d, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def step_fn(self, ids, cache):  # no cache: recompute from the whole sequence
        hidden, _ = self.rnn(self.embed(ids))
        return self.out(hidden[:, -1]), None

    def cached_step_fn(self, ids, cache):  # cache: state (B, 1, d), batch first for beams
        new = ids if cache is None else ids[:, -1:]
        state = None if cache is None else cache.transpose(0, 1).contiguous()
        hidden, state = self.rnn(self.embed(new), state)
        return self.out(hidden[:, -1]), state.transpose(0, 1)


def sequence_log_prob(step_fn, prompt, ids):
    """Teacher-forced sum of log p(y_t | prefix) through step_fn."""
    seq = torch.tensor([prompt + ids])
    total = 0.0
    for t in range(len(ids)):
        logits, _ = step_fn(seq[:, : len(prompt) + t], None)
        total += float(torch.log_softmax(logits.double(), -1)[0, ids[t]])
    return total


def test_encoder_decoder_step_fn_closing_over_memory():
    torch.manual_seed(0)
    model = TinySeq2Seq().double().eval()
    memory = model.encode(torch.tensor([[3, 4, 5, 6]]))

    def step_fn(ids, cache):
        return model.decode(ids, memory.expand(ids.shape[0], -1, -1))[:, -1], None

    with torch.no_grad():
        greedy_ids = list(generate(step_fn, [1], 10, stop_ids=[2], include_stop=True))
        assert beam_search(step_fn, [1], 1, 10, eos_id=2).ids == greedy_ids
        result = beam_search(step_fn, [1], 4, 10, eos_id=2, length_penalty=0.0)
        recomputed = sequence_log_prob(step_fn, [1], result.ids)
    assert result.log_prob == pytest.approx(recomputed, abs=1e-9)
    assert result.score == result.log_prob  # alpha = 0: the raw sum


def test_decoder_only_with_and_without_cache():
    torch.manual_seed(1)
    model = TinyGRULM().double().eval()
    with torch.no_grad():
        plain = beam_search(model.step_fn, [1, 5], 3, 8, eos_id=2)
        cached = beam_search(model.cached_step_fn, [1, 5], 3, 8, eos_id=2)
        recomputed = sequence_log_prob(model.step_fn, [1, 5], plain.ids)
    assert cached.ids == plain.ids
    assert cached.log_prob == pytest.approx(plain.log_prob, abs=1e-10)
    assert plain.log_prob == pytest.approx(recomputed, abs=1e-9)
    assert plain.score == pytest.approx(plain.log_prob / len(plain.ids))  # alpha = 1
