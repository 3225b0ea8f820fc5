"""generate(): token-at-a-time decoding through step_fn, stop rules, streaming, seeding."""

import functools

import pytest
import torch

from dlf.sampling import generate, greedy, sample

VOCAB = 8


class ScriptModel:
    """Emits a fixed script of tokens (one-hot logits), whatever the prompt; counts its calls."""

    def __init__(self, script: list[int]):
        self.script = script
        self.calls = 0

    def step_fn(self, ids, cache):
        self.calls += 1
        position = 0 if cache is None else cache
        logits = torch.full((ids.shape[0], VOCAB), -10.0)
        logits[:, self.script[position]] = 10.0
        return logits, position + 1


@pytest.mark.parametrize(
    "script, stop_ids, stop_sequences, include_stop, expected, calls",
    [
        ([1, 2, 7, 3], [7], [], False, [1, 2], 3),
        ([1, 2, 7, 3], [7], [], True, [1, 2, 7], 3),
        ([1, 2, 3, 5, 3, 4, 6], [], [[3, 4]], False, [1, 2, 3, 5], 6),
        ([1, 2, 3, 5, 3, 4, 6], [], [[3, 4]], True, [1, 2, 3, 5, 3, 4], 6),
        ([3, 3, 3, 4, 1], [], [[3, 3, 4]], False, [3], 4),  # overlapping partial matches
        ([3, 3, 3, 4, 1], [], [[3, 3, 4]], True, [3, 3, 3, 4], 4),
        ([1, 3, 4, 5, 6], [4], [[3, 4]], False, [1], 3),  # the longest matching stop is removed
        ([1, 2, 3, 1, 2], [], [[1, 2, 3, 4]], False, [1, 2, 3, 1, 2], 5),  # held ones released
        ([1, 2, 3, 1, 2, 6, 1, 2], [], [[5]], False, [1, 2, 3, 1, 2, 6], 6),  # max_new_tokens
    ],
)
def test_stop_rules_end_exactly_at_the_stop(
    script, stop_ids, stop_sequences, include_stop, expected, calls
):
    model = ScriptModel(script)
    out = generate(
        model.step_fn,
        [0],
        max_new_tokens=min(6, len(script)),
        stop_ids=stop_ids,
        stop_sequences=stop_sequences,
        include_stop=include_stop,
    )
    assert list(out) == expected
    assert model.calls == calls  # one step_fn call per generated token, none after the stop


def test_tokens_stream_as_soon_as_they_cannot_start_a_stop_sequence():
    model = ScriptModel([1, 3, 2, 5, 6, 7])
    stream = generate(model.step_fn, torch.tensor([0]), 6, stop_sequences=[[3, 4]])
    assert next(stream) == 1 and model.calls == 1
    assert next(stream) == 3 and model.calls == 3  # 3 held back until 2 showed it is no stop
    assert next(stream) == 2 and model.calls == 3
    assert list(stream) == [5, 6, 7]


def test_greedy_follows_the_argmax_and_a_kv_cache_changes_nothing(toys):
    model = toys.history(VOCAB, seed=0)
    prompt = [1, 2]
    out = list(generate(model.step_fn, prompt, 12))
    ids = torch.tensor([prompt])
    for token in out:
        assert token == int(model.logits(ids).argmax())
        ids = torch.cat([ids, torch.tensor([[token]])], 1)
    assert list(generate(model.cached_step_fn, prompt, 12)) == out


def test_seeded_sampling_reproduces_and_cache_does_not_change_draws(toys):
    model = toys.history(VOCAB, seed=1)

    def draw(step_fn, seed):
        strategy = functools.partial(
            sample, top_p=0.95, generator=torch.Generator().manual_seed(seed)
        )
        return list(generate(step_fn, [0], 30, strategy=strategy))

    assert draw(model.step_fn, 5) == draw(model.step_fn, 5) == draw(model.cached_step_fn, 5)
    assert draw(model.step_fn, 5) != draw(model.step_fn, 6)


def test_repetition_penalty_in_generate():
    def step_fn(ids, cache):  # always prefers token 0, then 1, then 2, ...
        return torch.linspace(1.0, 0.3, VOCAB).unsqueeze(0), None

    assert list(generate(step_fn, [7], 4)) == [0, 0, 0, 0]
    # each seen token is divided by 2 once: 0, 1, 2, 3 in turn (token 7 of the prompt counts too)
    assert list(generate(step_fn, [7], 4, repetition_penalty=2.0)) == [0, 1, 2, 3]


def test_bad_step_fn_or_prompt_is_explained():
    def full_logits(ids, cache):
        return torch.zeros(1, ids.shape[1], VOCAB), None

    with pytest.raises(ValueError, match="last position only"):
        list(generate(full_logits, [0, 1], 3))
    with pytest.raises(ValueError, match="empty"):
        list(generate(full_logits, [], 3))
    assert list(generate(full_logits, [0], 0)) == []
    assert greedy(torch.tensor([0.0, 2.0, 2.0])).item() == 1
