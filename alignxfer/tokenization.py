"""Word segmentation into the aligner's input, the WordPiece tokenizer, and tokenized bitext.

One segmentation (:func:`alignxfer.words.segment`) feeds both the aligner and the tokenizer: the
tokenized dataset stores, for every subword, the index of the word in ``corpus.txt`` it belongs
to, so word alignments map onto subwords without any re-segmentation.

* :func:`write_aligner_input` -- line-aligned bitext -> ``en words ||| xx words``.
* :func:`train_tokenizer` -- a WordPiece vocabulary trained on the pre-training text of every
  language, saved as a folder ``AutoTokenizer.from_pretrained`` opens.
* :func:`save_pretrained_tokenizer` -- at paper scale, the base model's own tokenizer.
* :func:`make_standalone` -- the segmentation of :func:`alignxfer.words.segment` written into
  the tokenizer itself (a normaliser step and a pre-tokenizer in ``tokenizer.json``), so a saved
  model's tokenizer gives the workflow's subwords from raw text, with nothing from this package.
* :func:`tokenize_pair` -- ``corpus.txt`` -> a ``datasets.save_to_disk`` folder with ``src_ids``,
  ``src_word_ids``, ``tgt_ids``, ``tgt_word_ids`` (no special tokens, untruncated).
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from .alignment import format_pair, read_corpus
from .io import atomic_dir, atomic_open, read_lines
from .words import is_cjk, segment

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write_aligner_input(en_path, xx_path, out_path) -> int:
    """Segment two line-aligned files into the aligner's ``en ||| xx`` input; returns the line count."""
    en, xx = read_lines(en_path), read_lines(xx_path)
    if len(en) != len(xx):
        raise ValueError(
            f"bitext sides differ in line count: {en_path} has {len(en)} lines, {xx_path} has {len(xx)}; "
            "line n of one side must translate line n of the other"
        )
    with atomic_open(out_path) as handle:
        for a, b in zip(en, xx):
            handle.write(format_pair(segment(a), segment(b)))
            handle.write("\n")
    return len(en)


def _limit_threads(threads: int | None) -> None:
    # the tokenizers library parallelises with rayon; the job's thread budget applies to it too
    if threads:
        os.environ["RAYON_NUM_THREADS"] = str(threads)


def _char_class(predicate) -> str:
    """A regex character class (``[\\x{..}-\\x{..}...]``) of every code point (no surrogates) where
    ``predicate(char)`` holds, by this Python's Unicode tables."""
    parts, start = [], None
    for cp in range(0x110001):
        ok = cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF and predicate(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            end = cp - 1
            parts.append(f"\\x{{{start:X}}}" if start == end else f"\\x{{{start:X}}}-\\x{{{end:X}}}")
            start = None
    return "[" + "".join(parts) + "]"


def _is_separator(ch: str) -> bool:  # the characters words.segment drops between words
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def _is_isolated(ch: str) -> bool:  # the characters words.segment makes words of their own
    return not _is_separator(ch) and (is_cjk(ch) or unicodedata.category(ch)[0] in ("P", "S"))


@lru_cache(maxsize=1)
def segmentation_patterns() -> tuple[str, str, str]:
    """(separators, isolated characters) of :func:`alignxfer.words.segment` as regex classes,
    and the class the normaliser turns into spaces: the separators and U+FFFD (a word of its
    own for ``segment``, deleted by BERT's ``clean_text``, which would join its neighbours)."""
    return (
        _char_class(_is_separator),
        _char_class(_is_isolated),
        _char_class(lambda ch: _is_separator(ch) or ch == "\ufffd"),
    )


def segmentation_pre_tokenizer():
    """A ``tokenizers`` pre-tokenizer that splits text as :func:`alignxfer.words.segment` does:
    drop whitespace, control and format characters between words, and make every punctuation
    or symbol character and every CJK ideograph or kana a word of its own."""
    from tokenizers import Regex, pre_tokenizers

    separators, isolated, _ = segmentation_patterns()
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(separators + "+"), behavior="removed"),
            pre_tokenizers.Split(Regex(isolated), behavior="isolated"),
        ]
    )


def segmentation_normalizer():
    """The normaliser step in front of BERT's: separators and U+FFFD become spaces (BERT's
    ``clean_text`` would delete control/format characters such as U+200B, and U+FFFD, joining
    the words around them)."""
    from tokenizers import Regex, normalizers

    return normalizers.Replace(Regex(segmentation_patterns()[2]), " ")


def build_wordpiece(vocab: dict | None = None, lowercase: bool = False, standalone: bool = False):
    """An (untrained when ``vocab`` is None) WordPiece ``tokenizers.Tokenizer`` with BERT's pipeline.

    ``standalone``: with the workflow's segmentation built in (see :func:`make_standalone`)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordPiece(vocab or {}, unk_token="[UNK]", max_input_chars_per_word=100))
    steps = [
        normalizers.NFC(),
        normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase
        ),
    ]
    tok.normalizer = normalizers.Sequence(([segmentation_normalizer()] if standalone else []) + steps)
    tok.pre_tokenizer = segmentation_pre_tokenizer() if standalone else pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    return tok


STANDALONE_MARK = "alignxfer_segmentation"


def is_standalone(tokenizer) -> bool:
    """Whether ``tokenizer`` (a fast tokenizer) carries the workflow's segmentation itself."""
    return bool(getattr(tokenizer, "init_kwargs", {}).get(STANDALONE_MARK))


def make_standalone(tokenizer, model_max_length: int | None = None):
    """Put the workflow's word segmentation into a fast BERT-style ``tokenizer`` (in place).

    The workflow feeds the tokenizer :func:`alignxfer.words.segment`'s words
    (``is_split_into_words=True``); a saved tokenizer used on raw text (``AutoTokenizer``,
    ``pipeline``) must split the same way, or Japanese kana runs become single ``[UNK]`` words.
    The pre-tokenizer becomes :func:`segmentation_pre_tokenizer` and a separator step goes in
    front of the normaliser. On the workflow's own (already segmented) words both are no-ops, so
    the workflow's token ids do not change. Only a tokenizer with BERT's pre-tokenizer (split at
    whitespace and punctuation) is changed; any other is returned as it is (its splitting is its
    own), with ``False`` under ``init_kwargs['alignxfer_segmentation']``.
    ``model_max_length``: the longest input the model takes (position embeddings, or the
    fine-tuning length), so ``truncation=True`` cuts inputs where the workflow cut them.
    """
    from tokenizers import normalizers

    if model_max_length:
        tokenizer.model_max_length = int(model_max_length)
        tokenizer.init_kwargs["model_max_length"] = int(model_max_length)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow (Python) tokenizer: its splitting is its own
        tokenizer.init_kwargs[STANDALONE_MARK] = False
        return tokenizer
    state = json.loads(backend.to_str())
    if is_standalone(tokenizer):
        return tokenizer
    if (state.get("pre_tokenizer") or {}).get("type") != "BertPreTokenizer":
        tokenizer.init_kwargs[STANDALONE_MARK] = False
        return tokenizer
    steps = [segmentation_normalizer()]
    if backend.normalizer is not None:
        steps.append(backend.normalizer)
    backend.normalizer = normalizers.Sequence(steps)
    backend.pre_tokenizer = segmentation_pre_tokenizer()
    tokenizer.init_kwargs[STANDALONE_MARK] = True
    return tokenizer


def wrap_fast(tok):
    """A trained ``tokenizers.Tokenizer`` as a transformers fast tokenizer with BERT's special tokens."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def _training_lines(corpora: Sequence) -> list[str]:
    """Distinct segmented sentences of every corpus, in a fixed order.

    English units recur across pairs (one description, several translations): each distinct
    sentence counts once, so English does not dominate the vocabulary by repetition.
    """
    seen: dict[str, None] = {}
    for path in sorted(map(str, corpora)):
        src, tgt = read_corpus(path)
        for words in src + tgt:
            if words:
                seen.setdefault(" ".join(words), None)
    return list(seen)


def _continuation_tokens(tok, lines: Sequence[str]) -> list[str]:
    """``##c`` for every character ``c`` that occurs inside a word (after normalisation), sorted."""
    chars: set[str] = set()
    for line in lines:
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(line)):
            chars.update(word[1:])
    return ["##" + c for c in sorted(chars)]


def train_tokenizer(
    corpora: Sequence, out_dir, vocab_size: int, lowercase: bool = False, seed: int = 0, threads: int | None = 1
) -> dict:
    """Train WordPiece on the aligner inputs ``corpora`` and save it to ``out_dir`` atomically.

    The trainer of ``tokenizers`` is not deterministic on its own (huggingface/tokenizers#1794):
    it gives the ``##`` continuation tokens ids in hash-map order, and those ids break ties
    between equally frequent merges. Registering every continuation token up front, in sorted
    order, fixes their ids, so the same text gives the same vocabulary. They are registered as
    special tokens for training only; the saved tokenizer is rebuilt from the plain vocabulary.
    ``seed`` is recorded only (training has no randomness once ties are fixed).
    """
    from tokenizers import trainers

    _limit_threads(threads)
    started = time.perf_counter()
    lines = _training_lines(corpora)
    if not lines:
        raise ValueError(f"no text to train a tokenizer on in {list(map(str, corpora))}")
    tok = build_wordpiece(lowercase=lowercase)
    continuation = _continuation_tokens(tok, lines)
    trainer = trainers.WordPieceTrainer(
        vocab_size=int(vocab_size),
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS + continuation,
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    vocab = tok.get_vocab()
    fast = wrap_fast(build_wordpiece(vocab=vocab, lowercase=lowercase, standalone=True))
    fast.init_kwargs[STANDALONE_MARK] = True
    with atomic_dir(out_dir) as tmp:
        fast.save_pretrained(str(tmp))
    return {
        "training_sentences": len(lines),
        "vocab_size": len(vocab),
        "continuation_tokens": len(continuation),
        "seed": seed,
        "seconds": time.perf_counter() - started,
    }


def save_pretrained_tokenizer(name_or_path, out_dir, revision=None) -> dict:
    """Copy a pretrained model's tokenizer (hub name at ``revision``, or a local folder) to ``out_dir``."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), **({"revision": revision} if revision else {}))
    except OSError as err:
        raise OSError(
            f"base.name: cannot load a tokenizer from {name_or_path!r} ({err}); give a Hugging Face model id "
            "(needs network or the local cache) or a folder written by save_pretrained"
        ) from err
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{name_or_path}: a fast tokenizer is needed (word ids per subword)")
    make_standalone(tokenizer)
    with atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(str(tmp))
    return {"vocab_size": len(tokenizer)}


def encode_words(tokenizer, sentences: Sequence[Sequence[str]], batch_size: int = 1000) -> tuple[list, list]:
    """Subword ids and word ids (index of the word each subword belongs to) of pre-split sentences.

    A word the tokenizer turns into nothing (e.g. a character its normaliser removes) becomes
    ``[UNK]``, so every word keeps at least one subword and word indices stay dense.
    """
    unk = tokenizer.unk_token_id
    all_ids, all_wids = [], []
    for start in range(0, len(sentences), batch_size):
        chunk = [list(s) for s in sentences[start : start + batch_size]]
        nonempty = [n for n, s in enumerate(chunk) if s]
        enc = (
            tokenizer([chunk[n] for n in nonempty], is_split_into_words=True, add_special_tokens=False)
            if nonempty
            else None
        )
        results = {}
        for k, n in enumerate(nonempty):
            ids = enc["input_ids"][k]
            wids = enc.word_ids(k)
            if len(set(wids)) < len(chunk[n]):
                by_word: dict[int, list] = {}
                for t, w in zip(ids, wids):
                    by_word.setdefault(w, []).append(t)
                ids, wids = [], []
                for w in range(len(chunk[n])):
                    pieces = by_word.get(w) or [unk]
                    ids.extend(pieces)
                    wids.extend([w] * len(pieces))
            results[n] = (list(ids), list(wids))
        for n in range(len(chunk)):
            ids, wids = results.get(n, ([], []))
            all_ids.append(ids)
            all_wids.append(wids)
    return all_ids, all_wids


def tokenize_pair(corpus_path, tokenizer_dir, out_dir, threads: int | None = 1) -> dict:
    """Tokenize an aligner input file into a ``save_to_disk`` dataset (one row per line)."""
    import datasets
    from transformers import AutoTokenizer

    _limit_threads(threads)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    src, tgt = read_corpus(corpus_path)
    src_ids, src_wids = encode_words(tokenizer, src)
    tgt_ids, tgt_wids = encode_words(tokenizer, tgt)
    ds = datasets.Dataset.from_dict(
        {"src_ids": src_ids, "src_word_ids": src_wids, "tgt_ids": tgt_ids, "tgt_word_ids": tgt_wids}
    )
    with atomic_dir(out_dir) as tmp:
        ds.save_to_disk(str(tmp))
    n_words = sum(len(s) for s in src) + sum(len(t) for t in tgt)
    n_sub = sum(map(len, src_ids)) + sum(map(len, tgt_ids))
    unk = tokenizer.unk_token_id
    n_unk = sum(ids.count(unk) for ids in src_ids + tgt_ids)
    return {
        "rows": len(src_ids),
        "subwords_per_word": n_sub / n_words if n_words else 0.0,
        "unk_rate": n_unk / n_sub if n_sub else 0.0,
        "seconds": time.perf_counter() - started,
    }
