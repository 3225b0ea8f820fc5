import pytest

from dlf.data import DataError
from dlf.gpt.tokenizer import BPETokenizer
from dlf.learn import get_exercise
from dlf.learn.module4 import bpe_tokenizer

from ..conftest import data_available
from .helpers import grade_text, planted_test

NAME = "bpe-tokenizer"
CHOICE = "pair = min(counts, key=lambda p: (-counts[p], p))"
DECODED = 'return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")'

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    (CHOICE, "pair = max(counts, key=counts.get)", "takes the first pair seen"),
    (CHOICE, "pair = min(counts, key=lambda p: (counts[p], p))", "take the MOST frequent pair"),
    ("256 + k)\n        merges.append", "257 + k)\n        merges.append", "off by +1"),
    ("range(vocab_size - 256)", "range(vocab_size - 257)", "learn vocab_size - 256 merges"),
    (
        "    ids = merge_pair(ids, pair, 256 + k)\n",
        "    merge_pair(ids, pair, 256 + k)\n",
        "the same pair was merged twice",
    ),
    (
        "pair = min(counts, key=lambda p: ranks.get(p, len(ranks)))",
        "pair = max(counts, key=lambda p: (p in ranks, counts[p]))",
        "merges applied by their frequency in the text to encode",
    ),
    (
        "ids = merge_pair(ids, pair, 256 + ranks[pair])",
        "ids = merge_pair(ids, pair, 255 + ranks[pair])",
        "merges[k] makes id 256 + k, not 255 + k",
    ),
    (
        DECODED,
        'return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)',
        "each token was decoded on its own",
    ),
    (DECODED, 'return bytes(ids).decode("utf-8", errors="replace")', "bytes(ids) works for"),
    (DECODED, 'return "".join(chr(i) for i in ids)', "the ids were joined as characters"),
    ('errors="replace")\n', ")\n", 'decode with errors="replace"'),
    (
        'ids = list(text.encode("utf-8"))\n    merges = []',
        "ids = [ord(c) for c in text]\n    merges = []",
        "the ids are the text's characters (ord(c))",
    ),
    ("vocab.append(vocab[a] + vocab[b])", "vocab.append(vocab[b] + vocab[a])", "vocab[a] + vocab"),
]


@pytest.fixture
def needs_shakespeare():
    if not data_available("tinyshakespeare"):
        pytest.skip("Tiny Shakespeare not in $DLF_DATA")


def test_the_solution_is_graded_on_tiny_shakespeare(needs_shakespeare, tmp_path):
    grade = grade_text(NAME, get_exercise(NAME).solution, tmp_path)
    assert grade.state == "passed", grade.lines()
    assert any("Tiny Shakespeare" in c.on for c in grade.checks)


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_the_grading_texts_need_no_reused_token():
    """The contract numbers merge k as id 256 + k; dlf's trainer reuses the id of a token
    reached twice, which would break that numbering, and never does on these texts."""
    tok = BPETokenizer.train(bpe_tokenizer.generated_text(0, 300), 300, pattern=None)
    assert len(tok.vocab) == 256 + len(tok.merges) == 300


def test_importing_dlfs_tokenizer_fails(tmp_path):
    text = get_exercise(NAME).solution.replace(
        "from dlf.gpt.tokenizer.train import merge_pair, pair_counts\n",
        "from dlf.gpt.tokenizer import BPETokenizer\n"
        "from dlf.gpt.tokenizer.train import merge_pair, pair_counts\n",
    )
    grade = grade_text(NAME, text, tmp_path)
    failing = [c.what for c in grade.checks if not c.passed]
    assert failing == ["your own tokenizer (not dlf's BPETokenizer)"]


def test_missing_shakespeare_is_said_in_one_line(monkeypatch, tmp_path):
    def missing(*args, **kwargs):
        raise DataError("data set 'tinyshakespeare' not found: set DLF_DATA")

    monkeypatch.setattr("dlf.data.text.load_text", missing)
    grade = grade_text(NAME, get_exercise(NAME).solution, tmp_path)
    failing = [c for c in grade.checks if not c.passed]
    assert [c.what for c in failing] == ["Tiny Shakespeare is available"]
    assert failing[0].detail == "data set 'tinyshakespeare' not found: set DLF_DATA"
