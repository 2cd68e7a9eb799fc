"""MLQA's answer normalisation, F1 and exact match, written after the rules of MLQA's official
evaluation script (``mlqa_evaluation_v1.py`` in github.com/facebookresearch/MLQA, read at commit
5ef5c731; this is an independent implementation of the same rules, not a copy).

Normalising an answer, in this order:

1. lowercase;
2. drop every punctuation character: every code point whose Unicode category starts with ``P``,
   plus Python's ``string.punctuation`` (which adds the ASCII symbols ``$+<=>^`|~``);
3. drop the answer language's articles, as whole words:
   ``en`` a an the; ``es`` un una unos unas el la los las; ``de`` ein eine einen einem eines
   einer der die das den dem des; ``vi`` của là cái chiếc những; ``ar`` every occurrence of
   ``ال`` (the script's pattern ``\\sال^|ال`` can only ever match its second branch, so the
   prefix is removed wherever it occurs, inside words too); ``hi`` and ``zh`` none;
4. fix whitespace: ``zh`` is split by MLQA's "mixed segmentation" (each character in
   U+4E00..U+9FA5 and each punctuation character is a token, other runs split on whitespace),
   every other language on whitespace; tokens are joined by one space.

F1 is the bag-of-tokens overlap of the normalised prediction and answer (0 when nothing is
shared); exact match compares the normalised strings. Each question takes the best score over
its gold answers. The script reports percentages; this module returns fractions (0..1), like
every metric of the workflow (tables show points). Only MLQA's seven languages are defined;
any other language is an error, as in the script.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

#: the languages MLQA's script defines
MLQA_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")


@functools.lru_cache(maxsize=1)
def punctuation() -> frozenset:
    """Every code point of a Unicode punctuation category (P*), plus ``string.punctuation``."""
    unicode_p = (chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)).startswith("P"))
    return frozenset(unicode_p) | frozenset(string.punctuation)


_ARTICLES = {
    "en": ("a", "an", "the"),
    "es": ("un", "una", "unos", "unas", "el", "la", "los", "las"),
    "de": ("ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"),
    "vi": ("của", "là", "cái", "chiếc", "những"),
}
_ARTICLE_PATTERNS = {lang: re.compile(r"\b(?:" + "|".join(words) + r")\b") for lang, words in _ARTICLES.items()}
_ARABIC_ARTICLE = "ال"
_MIXED_SEGMENTATION_CHARS = re.compile("[\u4e00-\u9fa5]")


def _check_language(lang: str) -> None:
    if lang not in MLQA_LANGUAGES:
        raise ValueError(
            f"MLQA's evaluation defines no normalisation for language {lang!r}; known: {list(MLQA_LANGUAGES)}"
        )


def mixed_segmentation(text: str) -> list[str]:
    """MLQA's tokenisation for Chinese: Han characters (U+4E00..U+9FA5) and punctuation are single
    tokens; the text between them is split on whitespace."""
    punct = punctuation()
    tokens: list[str] = []
    pending: list[str] = []
    for ch in text:
        if _MIXED_SEGMENTATION_CHARS.match(ch) or ch in punct:
            if pending:
                tokens.extend("".join(pending).split())
                pending = []
            tokens.append(ch)
        else:
            pending.append(ch)
    if pending:
        tokens.extend("".join(pending).split())
    return tokens


def remove_articles(text: str, lang: str) -> str:
    _check_language(lang)
    if lang == "ar":
        return text.replace(_ARABIC_ARTICLE, " ")
    pattern = _ARTICLE_PATTERNS.get(lang)
    return pattern.sub(" ", text) if pattern else text


def normalize_answer(text: str, lang: str) -> str:
    """Lowercase, drop punctuation, drop articles, fix whitespace (see the module docstring)."""
    _check_language(lang)
    punct = punctuation()
    text = "".join(ch for ch in text.lower() if ch not in punct)
    text = remove_articles(text, lang)
    tokens = mixed_segmentation(text) if lang == "zh" else text.split()
    return " ".join(t for t in tokens if t.strip())


def f1_score(prediction: str, answer: str, lang: str) -> float:
    pred = normalize_answer(prediction, lang).split()
    gold = normalize_answer(answer, lang).split()
    shared = sum((Counter(pred) & Counter(gold)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(pred)
    recall = shared / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, answer: str, lang: str) -> float:
    return float(normalize_answer(prediction, lang) == normalize_answer(answer, lang))


def best_over_answers(metric, prediction: str, answers: Sequence[str], lang: str) -> float:
    if not answers:
        raise ValueError("a question needs at least one gold answer")
    return max(metric(prediction, answer, lang) for answer in answers)


def qa_scores(predictions: Iterable[str], gold_answers: Iterable[Sequence[str]], langs: Iterable[str]) -> dict:
    """Mean F1 and exact match (fractions) over questions; question *i* has prediction *i*, gold
    answers *i* and answer language *i*."""
    f1 = em = 0.0
    n = 0
    for prediction, answers, lang in zip(predictions, gold_answers, langs, strict=True):
        f1 += best_over_answers(f1_score, prediction, answers, lang)
        em += best_over_answers(exact_match_score, prediction, answers, lang)
        n += 1
    if not n:
        raise ValueError("no questions to score")
    return {"f1": f1 / n, "exact_match": em / n}
