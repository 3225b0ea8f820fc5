"""BPETokenizer: tiktoken parity (GPT-2, and our own trained vocabularies), round trips,
special tokens, decoding, saving and loading."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.tokenizer.bpe import ChunkIds
from dlf.gpt.tokenizer.pretokenize import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN

from .samples import MULTILINGUAL, SPECIALS

VARIED = {
    "empty": "",
    "prose": "Hello world! It's a test, isn't it? We'll see; they've said I'd go.",
    "contractions": "don't DON'T You'RE we'Ve I'M she'D they'LL 's 't",
    "numbers": "1 12 123 1234 12345 3.14159 -42 1e10 0x1F 1,000,000 ٣٤٥ ½ Ⅻ",
    "whitespace": "a  b   c    d\t\te\n\nf\r\n g \u00a0h\u3000i \n \n  \n\t ",
    "trailing spaces": "ends with spaces   ",
    "only spaces": "     ",
    "newlines": "\n\n\n",
    "code": 'def f(x: int) -> int:\n    """Doc."""\n    return x**2  # square\n\n'
    'for (int i = 0; i < n; ++i) { a[i] += b[i]; }\n<div class="x">&amp;</div>',
    "unicode": MULTILINGUAL,
    "emoji": "👨‍👩‍👧‍👦 🏳️‍🌈 ✨🔥💯 🤖 a🙂b",
    "cjk": "我们在北京。東京タワー。서울특별시。𠀀𠀁 (CJK Ext B)",
    "combining": "e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 Zalgo: Z̴͍a̵l̷g̶o̸",
    "rtl": "مرحبا بالعالم שלום עולם",
    "punctuation runs": "!!!??? ...--- ***### @@@ $$$ %%% ^^^ &&& |||",
    "control": "\x00\x01\x1b[31mred\x1b[0m\x7f\ufeff\u200b",
    "special lookalike": "<|endoftext|> < |endoftext| > <|endoftext",
    "ascii separators": "a\x1cb \x1d\x1e\x1f  c\x1c\x1cd \x0b\x0ce\n",
}


@pytest.mark.parametrize("name", list(VARIED))
def test_gpt2_matches_tiktoken_on_varied_text(gpt2, tiktoken_gpt2, name):
    text = VARIED[name]
    assert gpt2.encode(text) == tiktoken_gpt2.encode_ordinary(text)
    assert gpt2.decode(gpt2.encode(text)) == text


def test_gpt2_vocab_equals_tiktokens_ranks(gpt2, gpt2_ranks, tiktoken_gpt2):
    assert gpt2.vocab_size == tiktoken_gpt2.n_vocab == 50257
    assert gpt2.ranks == gpt2_ranks
    assert gpt2.pattern == GPT2_SPLIT_PATTERN
    assert gpt2.special_tokens == {"<|endoftext|>": 50256}


def test_gpt2_matches_tiktoken_on_shakespeare(gpt2, tiktoken_gpt2, shakespeare):
    ids = gpt2.encode(shakespeare)
    assert ids == tiktoken_gpt2.encode_ordinary(shakespeare)
    assert gpt2.decode(ids) == shakespeare


def test_gpt2_long_chunks_use_the_heap_and_match_tiktoken(gpt2, tiktoken_gpt2):
    # chunks over 256 bytes go through the heap merge; whitespace and letters make long ones
    for text in [" " * 1000 + "x", "a" * 700, "ab" * 400, "x" + "\n" * 500, "é" * 300]:
        assert gpt2.encode(text) == tiktoken_gpt2.encode_ordinary(text)


# Characters assigned in the Unicode version of Python's unicodedata: the regex module and
# tiktoken's Rust regex may know different Unicode versions, which only unassigned code points
# (category Cn) could tell apart.
ASSIGNED = st.characters(blacklist_categories=("Cs", "Cn"))
ANY = st.characters(blacklist_categories=("Cs",))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ASSIGNED, max_size=60))
def test_gpt2_matches_tiktoken_property(gpt2, tiktoken_gpt2, text):
    assert gpt2.encode(text) == tiktoken_gpt2.encode_ordinary(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_gpt2_matches_tiktoken_on_ascii_property(gpt2, tiktoken_gpt2, text):
    # ASCII text is split by the pattern's twin in re (see pretokenize)
    assert gpt2.encode(text) == tiktoken_gpt2.encode_ordinary(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ANY, max_size=80))
def test_gpt2_round_trip_property(gpt2, text):
    assert gpt2.decode(gpt2.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ANY, max_size=80))
def test_trained_round_trip_property(trained, text):
    assert trained.decode(trained.encode(text)) == text
    assert trained.decode(trained.encode(text, allowed_special="all")) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ANY, max_size=40), st.sampled_from([None, "gpt2", r"\w+|\W"]))
def test_round_trip_under_other_patterns(text, pattern):
    tokenizer = BPETokenizer.train(MULTILINGUAL * 3, 300, pattern=pattern)
    assert tokenizer.decode(tokenizer.encode(text)) == text


@pytest.mark.parametrize("pattern", [GPT4_SPLIT_PATTERN, GPT2_SPLIT_PATTERN])
def test_trained_vocab_matches_tiktoken(pattern):
    """tiktoken given OUR vocabulary and pattern must split and merge exactly as we do."""
    tiktoken = pytest.importorskip("tiktoken")
    text = MULTILINGUAL * 10 + "".join(VARIED.values()) * 5
    tokenizer = BPETokenizer.train(text, 420, pattern=pattern, special_tokens=SPECIALS)
    reference = tiktoken.Encoding(
        "ours",
        pat_str=pattern,
        mergeable_ranks={token: i for i, token in enumerate(tokenizer.vocab)},
        special_tokens=tokenizer.special_tokens,
    )
    for sample in [text, *VARIED.values(), "unseen words: quixotic zephyr 🦊"]:
        assert tokenizer.encode(sample) == reference.encode_ordinary(sample)
        assert tokenizer.encode(sample, "all") == reference.encode(sample, allowed_special="all")


def test_chunk_ids_merges_a_chunk_on_first_look_up(gpt2):
    cache = ChunkIds(gpt2.ranks)
    assert cache[" world"] == (995,) and " world" in cache
    assert cache["Hello"] == (15496,)
    assert list(cache[" quixotically"]) == gpt2.encode(" quixotically")
    assert len(cache) == 3


def test_encode_reuses_the_chunk_cache(trained):
    trained.clear_cache()
    first = trained.encode(MULTILINGUAL)
    assert trained.encode(MULTILINGUAL) == first
    trained.cache_size = 3  # overflow: the cache is emptied and refilled, ids unchanged
    try:
        assert trained.encode(MULTILINGUAL * 2) == first * 2
    finally:
        del trained.cache_size


# -- special tokens -------------------------------------------------------------------------


def test_special_tokens_are_atomic(trained):
    eot, pad = (trained.special_tokens[s] for s in SPECIALS)
    assert (eot, pad) == (trained.vocab_size - 2, trained.vocab_size - 1)
    text = "ab<|endoftext|><|pad|>cd<|endoftext|>"
    ids = trained.encode(text, allowed_special="all")
    assert ids.count(eot) == 2 and ids.count(pad) == 1
    pieces = [trained.decode([i]) for i in ids]
    assert "<|endoftext|>" in pieces and "<|pad|>" in pieces
    assert trained.decode(ids) == text
    # "none": the same text is ordinary text, no special id appears
    assert not {eot, pad} & set(trained.encode(text, allowed_special="none"))
    assert trained.encode(text) == trained.encode(text, allowed_special="none")
    # a set: only the listed ones
    only_pad = trained.encode(text, allowed_special={"<|pad|>"})
    assert pad in only_pad and eot not in only_pad
    assert trained.decode(only_pad) == text


def test_special_tokens_match_tiktoken(gpt2, tiktoken_gpt2):
    text = "Hello<|endoftext|> world <|endoftext|><|endoftext|>\n<|endoftext|"
    ids = gpt2.encode(text, allowed_special="all")
    assert ids == tiktoken_gpt2.encode(text, allowed_special="all")
    assert ids.count(50256) == 3
    assert gpt2.encode(text, {"<|endoftext|>"}) == ids
    assert gpt2.encode(text) == tiktoken_gpt2.encode(text, disallowed_special=())
    assert gpt2.encode("Hello world<|endoftext|>", "all") == [15496, 995, 50256]


def test_longest_special_wins():
    tokenizer = BPETokenizer.train("abc " * 50, 260, special_tokens=["<|a|>", "<|a|>x"])
    ids = tokenizer.encode("<|a|>x<|a|>", allowed_special="all")
    assert ids == [tokenizer.special_tokens["<|a|>x"], tokenizer.special_tokens["<|a|>"]]


def test_special_tokens_take_no_part_in_training():
    tokenizer = BPETokenizer.train("<|endoftext|>" * 100 + "ab", 300, special_tokens=SPECIALS)
    assert all(b"|" not in token for token in tokenizer.vocab[256:])
    assert len(tokenizer.vocab) == 257  # only "ab" is left to merge


@pytest.mark.parametrize("bad", ["some", "<|endoftext|>", {"<|nope|>"}])
def test_allowed_special_errors(trained, bad):
    with pytest.raises(ValueError, match="allowed_special|unknown special"):
        trained.encode("x", allowed_special=bad)


# -- decoding -------------------------------------------------------------------------------


def test_decode_invalid_utf8_is_replaced(gpt2):
    euro = gpt2.encode("€")  # 3 bytes; GPT-2 holds them as separate tokens or pairs
    assert gpt2.decode(euro) == "€"
    assert gpt2.decode_bytes([gpt2.ranks[b"\xe2"]]) == b"\xe2"
    assert gpt2.decode([gpt2.ranks[b"\xe2"]]) == "\ufffd"
    assert gpt2.decode([gpt2.ranks[b"\xff"], gpt2.ranks[b"a"]]) == "\ufffda"


@pytest.mark.parametrize("bad", [-1, 50257, 10**9])
def test_decode_rejects_unknown_ids(gpt2, bad):
    with pytest.raises(ValueError, match=f"token id {bad} "):
        gpt2.decode([1, bad])


def test_decode_accepts_arrays(gpt2):
    np = pytest.importorskip("numpy")
    ids = gpt2.encode("Hello world")
    assert gpt2.decode(np.array(ids)) == "Hello world"


def test_lone_surrogate_is_a_clear_error(trained):
    with pytest.raises(ValueError, match="surrogate"):
        trained.encode("ok \ud800 no")


# -- construction, saving and loading --------------------------------------------------------


def test_train_merges_and_sizes():
    tokenizer = BPETokenizer.train("aaabdaaabac", 259, pattern=None)
    assert tokenizer.merges == [(97, 97), (97, 98), (256, 257)]
    assert tokenizer.vocab[256:] == [b"aa", b"ab", b"aaab"]
    assert tokenizer.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    with pytest.raises(ValueError, match="at least 256"):
        BPETokenizer.train("abc", 257, special_tokens=SPECIALS)


def test_training_stops_when_no_pair_is_left():
    tokenizer = BPETokenizer.train("ab ab", 1000)  # chunks "ab", " ab": 2 merges at most
    assert tokenizer.vocab_size == len(tokenizer.vocab) == 258


@pytest.mark.parametrize("fixture", ["trained", "gpt2"])
def test_save_load_round_trip(request, tmp_path, fixture):
    tokenizer = request.getfixturevalue(fixture)
    path = tokenizer.save(tmp_path / "sub" / "tok.json")
    assert [p.name for p in path.parent.iterdir()] == ["tok.json"]  # no temporary file left
    loaded = BPETokenizer.load(path)
    assert loaded == tokenizer
    for text in [MULTILINGUAL, VARIED["code"], "<|endoftext|>x"]:
        assert loaded.encode(text, "all") == tokenizer.encode(text, "all")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["special_tokens"] == tokenizer.special_tokens
    assert len(data["vocab"]) == len(tokenizer.vocab) and len(data["merges"]) == len(
        tokenizer.merges
    )
    if fixture == "gpt2":
        assert data["vocab"][262] == "Ġthe" and data["merges"][0] == "Ġ t"


def test_save_is_readable(tmp_path, trained):
    text = trained.save(tmp_path / "tok.json").read_text(encoding="utf-8")
    assert '    "Ġ"' in text  # one token per line, in GPT-2's printable form


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format="other"), "not a BPETokenizer file"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d["merges"].append("nope x"), "not two tokens"),
        (lambda d: d["vocab"].__setitem__(300, d["vocab"][299]), "appears twice"),
        (lambda d: d["vocab"].pop(65), "lacks 1 single-byte"),
        (lambda d: d.update(pattern="(unclosed"), "valid regex"),
    ],
)
def test_load_rejects_bad_files(tmp_path, trained, edit, message):
    path = trained.save(tmp_path / "tok.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        BPETokenizer.load(path)


def test_constructor_rejects_bad_specials(trained):
    with pytest.raises(ValueError, match="regular token"):
        BPETokenizer(trained.vocab, special_tokens={"<x>": 5})
    with pytest.raises(ValueError, match="shares id"):
        BPETokenizer(trained.vocab, special_tokens={"<x>": 500, "<y>": 500})


def test_from_gpt2_rejects_other_files(tmp_path, gpt2_files):
    encoder_json, _ = gpt2_files
    bad = tmp_path / "vocab.bpe"
    bad.write_text("#version: 0.2\nĠ t\nnot-a-token x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        BPETokenizer.from_gpt2(encoder_json, bad)


def test_gpt2_classmethod_uses_dlf_data(gpt2, gpt2_files, monkeypatch):
    monkeypatch.setenv("DLF_DATA", str(gpt2_files[0].parent.parent))
    monkeypatch.setenv("DLF_OFFLINE", "1")
    assert BPETokenizer.gpt2() == gpt2


def test_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, dlf.gpt.tokenizer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
