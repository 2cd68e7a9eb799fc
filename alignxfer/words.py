"""The word segmentation shared by the aligner, the tokenizer and every objective.

One definition of "word" for the whole workflow: FastAlign's word indices, the word->subword
map stored with the tokenized data, and the task inputs all come from :func:`segment`.

A word is a maximal run of characters that are neither whitespace, punctuation/symbols, nor
CJK ideographs/kana; every punctuation or symbol character is a word of its own, and so is
every CJK character (Chinese and Japanese are written without spaces, and a per-character
segmentation is what multilingual BERT's basic tokenizer does for Han characters).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF  # CJK Unified Ideographs
        or 0x3400 <= cp <= 0x4DBF  # Extension A
        or 0x20000 <= cp <= 0x2FA1F  # Extensions B-F, compatibility supplement
        or 0xF900 <= cp <= 0xFAFF  # Compatibility Ideographs
        or 0x3040 <= cp <= 0x30FF  # Hiragana, Katakana
        or 0x31F0 <= cp <= 0x31FF  # Katakana phonetic extensions
        or 0xFF66 <= cp <= 0xFF9F  # half-width Katakana
    )


@lru_cache(maxsize=4096)
def _is_split_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "S")


def segment(text: str) -> list[str]:
    """Split ``text`` into words (see module docstring). Never returns empty strings."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            if current:
                words.append("".join(current))
                current = []
        elif is_cjk(ch) or _is_split_char(ch):
            if current:
                words.append("".join(current))
                current = []
            words.append(ch)
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def segment_spans(text: str) -> list[tuple[int, int]]:
    """The character spans ``(start, end)`` of :func:`segment`'s words in ``text``.

    ``[text[s:e] for s, e in segment_spans(text)] == segment(text)``: extractive QA maps answer
    character offsets to words, and predicted words back to the exact original substring.
    """
    spans: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(text):
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            if start is not None:
                spans.append((start, i))
                start = None
        elif is_cjk(ch) or _is_split_char(ch):
            if start is not None:
                spans.append((start, i))
                start = None
            spans.append((i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    return spans


def join_wrapped(left: str, right: str) -> str:
    """Join two wrapped lines of one paragraph: no space between two CJK characters."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    if is_cjk(left[-1]) and is_cjk(right[0]):
        return left + right
    return left + " " + right
