"""De-lexicalised test sets: a zero-shot readout that copied strings cannot win.

A non-English test document keeps its words except those that occur *verbatim* (same
characters, same case) in the English training text: they become ``[UNK]``. Package names,
version numbers, URLs, Latin-script loan words and anything else an English-trained classifier
could match without any cross-lingual transfer are gone; what is left has to be understood
through the other language. Pure punctuation/symbol words (``.``, ``(``, ``-``) are kept: they
carry no topic and replacing them would change every document's shape.

Words are those of :func:`alignxfer.words.segment` (what the task encodes). Records are the topic
records plus ``words`` (the de-lexicalised word list, ``[UNK]`` one word), which
:class:`DelexTopicTask` encodes as is: the tokenizer sees its unknown token, not the characters
``[``, ``UNK``, ``]``.
"""

from __future__ import annotations

from alignxfer.io import read_jsonl, write_json, write_jsonl
from alignxfer.tasks.topic import TopicTask, encode_words, load_examples
from alignxfer.words import segment

UNK = "[UNK]"


def english_vocabulary(train_paths) -> set[str]:
    """Every word of the English training documents."""
    vocab: set[str] = set()
    for path in train_paths:
        for lineno, record in enumerate(read_jsonl(path), 1):
            if not isinstance(record.get("text"), str):
                raise ValueError(f"{path}:{lineno}: missing text 'text'")
            vocab.update(segment(record["text"]))
    return vocab


def is_lexical(word: str) -> bool:
    """A word with a letter or digit (pure punctuation/symbols are not lexical)."""
    return any(ch.isalnum() for ch in word)


def delexicalise(text: str, vocab: set[str]) -> tuple[list[str], int, int]:
    """(words with English-training words replaced by ``[UNK]``, replaced, lexical words)."""
    words, replaced, lexical = [], 0, 0
    for word in segment(text):
        if is_lexical(word):
            lexical += 1
            if word in vocab:
                replaced += 1
                words.append(UNK)
                continue
        words.append(word)
    return words, replaced, lexical


def prepare_delex(test_path, english_train_path, out_path, lang: str, summary_path=None) -> dict:
    """Write the de-lexicalised copy of ``test_path``; return (and write) replacement counts."""
    vocab = english_vocabulary([english_train_path])
    records, replaced, lexical, untouched, all_unk = [], 0, 0, 0, 0
    for lineno, record in enumerate(read_jsonl(test_path), 1):
        for key in ("doc_id", "text", "label"):
            if key not in record:
                raise ValueError(f"{test_path}:{lineno}: missing key {key!r}")
        words, r, n = delexicalise(record["text"], vocab)
        replaced += r
        lexical += n
        untouched += r == 0
        all_unk += n > 0 and r == n
        records.append({"doc_id": record["doc_id"], "text": " ".join(words), "label": record["label"], "words": words})
    if not records:
        raise ValueError(f"{test_path}: no test documents")
    write_jsonl(out_path, records)
    summary = {
        "lang": lang,
        "test_file": str(test_path),
        "english_train_file": str(english_train_path),
        "english_vocabulary": len(vocab),
        "documents": len(records),
        "lexical_words": lexical,
        "replaced_words": replaced,
        "replaced_fraction": replaced / lexical if lexical else 0.0,
        "documents_unchanged": untouched,
        "documents_fully_replaced": all_unk,
    }
    if summary_path:
        write_json(summary_path, summary)
    return summary


class DelexTopicTask(TopicTask):
    """The topic task on de-lexicalised records: encodes each record's ``words`` as given."""

    def load_examples(self, path, labels: list[str]) -> list[dict]:
        examples = load_examples(path, labels)
        words = [r.get("words") for r in read_jsonl(path)]
        for lineno, (ex, w) in enumerate(zip(examples, words), 1):
            if not isinstance(w, list):
                raise ValueError(
                    f"{path}:{lineno}: a de-lexicalised record needs its 'words' list (rule prepare_delex)"
                )
            ex["words"] = w
        return examples

    def encode(self, tokenizer, examples: list[dict], max_length: int) -> list[dict]:
        words = [
            [tokenizer.unk_token if w == UNK else w for w in ex["words"]] or [tokenizer.unk_token] for ex in examples
        ]
        return encode_words(tokenizer, words, examples, max_length)
