import pytest
import torch

from dlf.data.sequences import BOS, EOS, PAD, make_task
from dlf.runs import Diverged
from dlf.sampling import beam_search, generate
from dlf.transformer import (
    Seq2Seq,
    Seq2SeqConfig,
    TrainSettings,
    Transformer,
    TransformerConfig,
    chance_accuracy,
    decoder_step_fn,
    evaluate,
    greedy_decode,
    input_gradient_norms,
    make_batch,
    teacher_forced_logits,
    token_accuracy,
    train,
)

TASK = make_task("reverse", n_train=300, n_test=20, min_len=2, max_len=5, long_len=7, seed=1)
V = len(TASK.vocab)


def _models():
    torch.manual_seed(0)
    return {
        "transformer": Transformer(
            TransformerConfig(
                vocab_size=V, d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=2,
                d_ff=32, dropout=0.0, max_len=32,
            )
        ).eval(),
        "rnn": Seq2Seq(Seq2SeqConfig(V, 8, 12, cell="rnn")).eval(),
        "lstm-attention": Seq2Seq(Seq2SeqConfig(V, 8, 12, cell="lstm", attention=True)).eval(),
    }  # fmt: skip


MODELS = _models()


def test_make_batch_layout():
    batch = make_batch(TASK, [("10", "01"), ("3", "3")])
    zero, one, three = (TASK.encode(c)[0] for c in "013")
    assert batch.src.tolist() == [[one, zero], [three, PAD]]
    assert batch.tgt_in.tolist() == [[BOS, zero, one], [BOS, three, PAD]]
    assert batch.labels.tolist() == [[zero, one, EOS], [three, EOS, PAD]]


@pytest.mark.parametrize("name", list(MODELS))
def test_greedy_decode_matches_sampling_generate(name):
    """Batched greedy decoding = dlf.sampling.generate run on each source alone."""
    model = MODELS[name]
    sources = ["12", "98765", "4403"]
    batch = make_batch(TASK, [(s, s) for s in sources])
    generated = greedy_decode(model, batch.src, max_new_tokens=8)
    for row, source in enumerate(sources):
        src = torch.tensor([TASK.encode(source)])
        alone = list(generate(decoder_step_fn(model, src), [BOS], 8, stop_ids=[EOS]))
        assert TASK.decode(generated[row].tolist()) == TASK.decode(alone)


@pytest.mark.parametrize("name", list(MODELS))
def test_step_fn_serves_beam_search(name):
    """Width-1 beam search through the same step_fn is greedy decoding (memory expanded)."""
    model = MODELS[name]
    src = torch.tensor([TASK.encode("3141")])
    greedy_ids = list(generate(decoder_step_fn(model, src), [BOS], 6, stop_ids=[EOS]))
    beam = beam_search(decoder_step_fn(model, src), [BOS], 1, 6, eos_id=EOS)
    assert TASK.decode(beam.ids) == TASK.decode(greedy_ids)
    wide = beam_search(decoder_step_fn(model, src), [BOS], 3, 6, eos_id=EOS)
    # The same hypothesis scored in a batch of 3 rows or of 1: float32 matrix products whose
    # summation order the kernels may pick by batch size, a few ulps per token of the log-probs'
    # scale, which here (untrained models) is that of the per-token score: allow 64 float32
    # ulps (eps = 1.19e-7) of |score|.
    assert wide.score >= beam.score - 64 * 1.19e-7 * abs(beam.score)


@pytest.mark.parametrize("name", list(MODELS))
def test_teacher_forced_logits_are_causal(name):
    """Changing the decoder input at position 3 leaves the logits at positions 0..2 alone."""
    model = MODELS[name]
    batch = make_batch(TASK, [("12345", "54321")])
    logits = teacher_forced_logits(model, batch.src, batch.tgt_in)
    changed = batch.tgt_in.clone()
    changed[0, 3] = TASK.encode("9")[0]
    other = teacher_forced_logits(model, batch.src, changed)
    torch.testing.assert_close(logits[:, :3], other[:, :3])
    assert (logits[:, 3:] - other[:, 3:]).abs().max() > 1e-6


def test_training_learns_and_evaluation_counts_exact_matches():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(V, 16, 32, cell="lstm", attention=True))
    settings = TrainSettings(steps=60, batch_size=32, optimizer="adam", lr=1e-2, log_every=20)
    logged = []
    result = train(model, TASK, settings, log=lambda step, **m: logged.append((step, m)))
    assert [s for s, _ in logged] == [20, 40, 60]
    losses = [m["train_loss"] for _, m in logged]
    assert losses[-1] < 0.6 * losses[0]
    evaluation = evaluate(model, TASK, TASK.test)
    correct = sum(evaluation.correct)
    assert evaluation.accuracy == correct / len(TASK.test)
    by_length = evaluation.accuracy_by_length()
    assert set(by_length) == {len(s) for s, _ in TASK.test}
    assert result.seconds > 0 and not model.training


def test_vanishing_gradient_in_a_vanilla_rnn():
    """At initialisation, ||dL/dx_t|| of a vanilla RNN without attention decays with distance
    from the output; with attention the first input keeps a direct path."""
    torch.manual_seed(0)
    batch = make_batch(TASK, [("1234567890" * 2, "0" * 20)] * 4)
    plain = Seq2Seq(Seq2SeqConfig(V, 16, 32, cell="rnn"))
    norms = input_gradient_norms(plain, batch)
    assert norms.shape == (20,)
    assert norms[0] < 1e-3 * norms[-1]  # 20 steps from the output vs 1
    attended = Seq2Seq(Seq2SeqConfig(V, 16, 32, cell="rnn", attention=True))
    norms = input_gradient_norms(attended, batch)
    assert norms[0] > 1e-2 * norms[-1]
    with pytest.raises(ValueError, match="unpadded"):
        input_gradient_norms(plain, make_batch(TASK, [("12", "21"), ("1", "1")]))


def test_noam_settings_and_unknown_optimizer():
    with pytest.raises(ValueError, match="not known"):
        TrainSettings(optimizer="sgd")


@pytest.mark.parametrize("name", list(MODELS))
def test_token_accuracy_counts_argmax_hits_of_teacher_forcing(name):
    model = MODELS[name]
    pairs = TASK.test[:7]
    batch = make_batch(TASK, pairs)
    predicted = teacher_forced_logits(model, batch.src, batch.tgt_in).argmax(-1).tolist()
    hits = [
        p == y
        for row_p, row_y in zip(predicted, batch.labels.tolist(), strict=True)
        for p, y in zip(row_p, row_y, strict=True)
        if y != PAD
    ]
    assert len(hits) == sum(len(t) + 1 for _, t in pairs)  # target tokens and EOS
    assert token_accuracy(model, TASK, pairs, batch_size=3) == pytest.approx(sum(hits) / len(hits))
    assert evaluate(model, TASK, pairs).token_accuracy == token_accuracy(model, TASK, pairs)


def test_chance_accuracy_guesses_among_the_target_tokens():
    token, exact = chance_accuracy(TASK, [("12", "21"), ("305", "503")])
    assert token == pytest.approx(1 / 6)  # 1, 2, 3, 0, 5 and EOS
    assert exact == pytest.approx((6.0**-3 + 6.0**-4) / 2)


def test_a_nan_loss_stops_training_as_diverged():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(V, 8, 12, cell="rnn"))
    with torch.no_grad():
        model.embedding.weight[TASK.encode("7")[0]] = float("nan")
    settings = TrainSettings(steps=50, batch_size=32, optimizer="adam", lr=1e-3)
    with pytest.raises(Diverged, match=r"the loss became nan at step \d+; try a lower lr"):
        train(model, TASK, settings)
