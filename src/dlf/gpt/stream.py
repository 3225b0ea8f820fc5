"""Generated tokens as text, piece by piece, ending exactly at a stop string.

Stop strings are matched on the decoded text, not on token ids: a byte-level BPE can spell
``"\\n\\n"`` as one token or as two, and a stop written as a special token (``<|endoftext|>``)
decodes to its own text, so both are caught the same way. Text that could still turn out to be
the start of a stop string is held back until it is known not to be, so the stop string itself
is never shown (unless ``include_stop``).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator, Sequence

from dlf.gpt.text import Tokenizer, decode_bytes
from dlf.sampling.generate import suffix_prefix_overlap


def first_stop(text: str, stops: Sequence[str], start: int = 0) -> tuple[int, str] | None:
    """The earliest occurrence of any stop string in ``text[start:]`` as ``(index, stop)``
    (the longest stop among those found at that index), or None.

    Example: ``first_stop("ab\\n\\ncd", ["\\n\\n", "c"])`` -> ``(2, "\\n\\n")``.
    """
    found = [(i, -len(s), s) for s in stops if (i := text.find(s, start)) >= 0]
    if not found:
        return None
    index, _, stop = min(found)
    return index, stop


class TextStream:
    """Iterate over the text of ``tokens`` (e.g. :func:`dlf.sampling.generate`'s ids), in
    pieces, until the first of ``stops`` appears or the tokens run out.

    Rule: after each token, the text decoded so far is ``x``; if a stop string ``s`` occurs in
    it (first at index i), yield ``x[sent:i]`` (``x[sent:i + len(s)]`` with ``include_stop``),
    stop pulling tokens, and end. Otherwise yield everything but the longest suffix of ``x``
    that is a proper prefix of a stop string. UTF-8 is decoded incrementally, so a character
    split over two byte-level tokens is shown once whole. ``held()`` is the text decoded but
    not yet yielded (shown on Ctrl-C). ``stopped_by`` names the stop string that ended it.
    Example: tokens spelling ``"ab\\n\\ncd"``, ``stops=["\\n\\n"]`` -> pieces joining to
    ``"ab"``.
    """

    def __init__(
        self,
        tokens: Iterable[int],
        tokenizer: Tokenizer,
        stops: Sequence[str] = (),
        include_stop: bool = False,
    ) -> None:
        if any(not s for s in stops):
            raise ValueError("a stop string is empty")
        self.tokens = tokens
        self.tokenizer = tokenizer
        self.stops = list(stops)
        self.include_stop = include_stop
        self.text = ""  # decoded so far
        self.sent = 0  # characters of text already yielded
        self.stopped_by: str | None = None
        self.end = 0  # where the shown text ends, once a stop string is found
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def held(self) -> str:
        """Text decoded but not yet yielded, incomplete UTF-8 shown as U+FFFD."""
        pending = self.decoder.getstate()[0]
        return self.text[self.sent :] + pending.decode("utf-8", errors="replace")

    def _emit(self, end: int) -> str:
        piece, self.sent = self.text[self.sent : end], max(self.sent, end)
        return piece

    def __iter__(self) -> Iterator[str]:
        tokens = iter(self.tokens)
        try:
            for token in tokens:
                self.text += self.decoder.decode(decode_bytes(self.tokenizer, [token]))
                if self._find_stop():
                    break
                keep = suffix_prefix_overlap(self.text[self.sent :], self.stops)
                piece = self._emit(len(self.text) - keep)
                if piece:
                    yield piece
            else:
                self.text += self.decoder.decode(b"", final=True)
                self._find_stop()
            piece = self._emit(len(self.text) if self.stopped_by is None else self.end)
            if piece:
                yield piece
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()  # a generator stops here: the model is not called again

    def _find_stop(self) -> bool:
        """Whether a stop string has appeared; if so, set ``stopped_by`` and ``end``."""
        hit = first_stop(self.text, self.stops, self.sent)
        if hit is None:
            return False
        index, self.stopped_by = hit
        self.end = index + len(self.stopped_by) if self.include_stop else index
        return True
