import pytest

from dlf.learn import get_exercise
from dlf.learn.grader import solution_variant
from dlf.learn.module4.beam_search import CASES, SOLUTION, VARIANTS, Trap
from dlf.sampling.beam import beam_search

from .helpers import grade_text, planted_test

NAME = "beam-search"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (
        "extended = (running_log_prob[:, None] + log_probs)",
        "extended = (log_probs)",
        "scores are not accumulated",
    ),
    (
        "            cache = reorder_cache(cache, rows)\n",
        "            pass\n",
        "the cache rows do not follow their beams",
    ),
    ("if token == eos_id:", "if False:", "a hypothesis that ends with eos_id must stop"),
    ("                finished.append(hypothesis)\n", "", "finished hypotheses are lost"),
    (
        "scores = length_normalised_score(extended, step + 1, length_penalty)",
        "scores = extended",
        "must rank the candidates at every step",
    ),
    (
        "        ids = running[row, n_prompt:].tolist()\n",
        "        ids = running[row].tolist()\n",
        "leave out the prompt",
    ),
    (
        "        logits, cache = step_fn(running, cache)\n",
        "        logits, _ = step_fn(running, None)\n",
        "pass the cache that step_fn returned",
    ),
]


def _edited(*edits):
    text = get_exercise(NAME).solution
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return text


def _diagnoses(grade):
    return [c.diagnosis for c in grade.checks if not c.passed]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_multiplied_probabilities_are_named(tmp_path):
    text = _edited(
        ("torch.log_softmax(", "torch.softmax("),
        ("(running_log_prob[:, None] + log_probs)", "(running_log_prob[:, None] * log_probs)"),
        ("torch.zeros(1, dtype=torch.float64", "torch.ones(1, dtype=torch.float64"),
    )
    said = _diagnoses(grade_text(NAME, text, tmp_path))
    assert said and all(s.startswith("probabilities multiplied") for s in said)


def test_starting_from_copies_of_the_prompt_is_named(tmp_path):
    text = _edited(
        ("running = prompt  #", "running = prompt.repeat(beam_width, 1)  #"),
        ("running_log_prob = torch.zeros(1,", "running_log_prob = torch.zeros(beam_width,"),
    )
    said = _diagnoses(grade_text(NAME, text, tmp_path))
    assert said and all("copies of the prompt" in s for s in said)


def test_a_mistake_that_matches_one_case_by_chance_is_not_named(tmp_path):
    text = _edited(("best = max(candidates, key=lambda h: h.score)", "best = candidates[-1]"))
    grade = grade_text(NAME, text, tmp_path)
    assert grade.state == "failing" and not any(_diagnoses(grade))


@pytest.mark.parametrize(("message", "edits"), VARIANTS)
def test_every_known_mistake_applies_and_changes_some_result(message, edits):
    variant = solution_variant(SOLUTION, edits)["beam_search"]
    changed = False
    for _, make, prompt, width, steps, eos, alpha in CASES:
        want = beam_search(make(), prompt, width, steps, eos_id=eos, length_penalty=alpha)
        try:
            got = variant(make(), prompt, width, steps, eos_id=eos, length_penalty=alpha)
        except Exception:
            changed = True
            continue
        changed = changed or (got.ids, got.log_prob, got.finished) != (
            want.ids,
            want.log_prob,
            want.finished,
        )
    assert changed or message.startswith("the cache rows"), message  # the cache case: own test


def test_the_cases_need_a_real_beam_search():
    greedy = beam_search(Trap(), [3], 1, 2)
    wider = beam_search(Trap(), [3], 2, 2)
    assert wider.log_prob > greedy.log_prob  # greedy decoding misses the best sequence
    eos_cases = [c for c in CASES if c[0] == "trigram V=7 with eos 0" and c[3] == 3]
    winners = {
        tuple(beam_search(m(), p, w, s, eos_id=e, length_penalty=a).ids)
        for _, m, p, w, s, e, a in eos_cases
    }
    assert len(winners) == len(eos_cases)  # each length penalty picks another sequence
