"""XNLI: natural language inference as sentence-pair classification (premise, hypothesis).

Zero-shot: fine-tune on English MultiNLI as XNLI distributes it (the ``en`` training split),
select on XNLI's English dev set, test on XNLI's 15 languages. Translate-train: XNLI's machine
translations of the MultiNLI training set, with the target language's dev set.

Data (from :mod:`alignxfer.tasks.hub`): JSON lines ``{"id", "premise", "hypothesis", "label"}``;
``labels.json`` is XNLI's label list in its id order (entailment, neutral, contradiction). The
pair is encoded as ``[CLS] premise [SEP] hypothesis [SEP]`` with segment ids 0/1
(``token_type_ids``); both texts go through :func:`alignxfer.words.segment` like every text of
the workflow. Truncation is "longest first" within ``hparams['max_length']`` tokens. Everything
else (model, loop, dev selection, metrics, majority baseline) is the topic task's.
"""

from __future__ import annotations

from collections.abc import Iterable

from alignxfer.io import read_jsonl
from alignxfer.tasks.topic import TopicTask
from alignxfer.words import segment

#: XNLI's classes in the id order of its datasets (0, 1, 2)
XNLI_LABELS = ["entailment", "neutral", "contradiction"]


def load_pair_examples(path, labels: list[str]) -> list[dict]:
    index = {label: i for i, label in enumerate(labels)}
    examples = []
    for lineno, record in enumerate(read_jsonl(path), 1):
        for key in ("id", "premise", "hypothesis", "label"):
            if key not in record:
                raise ValueError(f"{path}:{lineno}: missing key {key!r}")
        if record["label"] not in index:
            raise ValueError(f"{path}:{lineno}: label {record['label']!r} is not in the label list {labels}")
        examples.append(
            {
                "doc_id": record["id"],
                "premise": record["premise"],
                "hypothesis": record["hypothesis"],
                "label_id": index[record["label"]],
            }
        )
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples


def encode_pairs(tokenizer, examples: list[dict], max_length: int) -> list[dict]:
    """Features: ``[CLS] premise [SEP] hypothesis [SEP]`` ids, segment ids, attention mask, label id."""
    enc = tokenizer(
        [segment(ex["premise"]) for ex in examples],
        [segment(ex["hypothesis"]) for ex in examples],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        return_token_type_ids=True,
    )
    features = []
    for i, ex in enumerate(examples):
        feature = {key: enc[key][i] for key in ("input_ids", "attention_mask", "token_type_ids")}
        feature["labels"] = ex["label_id"]
        features.append(feature)
    return features


class XnliTask(TopicTask):
    name = "xnli"

    def load_examples(self, path, labels: list[str]) -> list[dict]:
        return load_pair_examples(path, labels)

    def encode(self, tokenizer, examples: list[dict], max_length: int) -> list[dict]:
        return encode_pairs(tokenizer, examples, max_length)

    def label_names(self) -> list[str]:
        return list(XNLI_LABELS)

    def records_from_rows(self, rows, lang: str, drops, label_names=None, where: str = "") -> Iterable[dict]:
        """Rows with ``premise``, ``hypothesis`` and ``label`` (a class id, -1 = no gold label, or
        a class name); ``id`` is kept if the dataset has one, else ``<lang>-<row>``."""
        names = list(label_names) if label_names else list(XNLI_LABELS)
        unknown = sorted(set(names) - set(XNLI_LABELS))
        if unknown:
            raise ValueError(f"{where}: the dataset's label names {names} are not XNLI's {XNLI_LABELS}")
        for i, row in enumerate(rows):
            for key in ("premise", "hypothesis", "label"):
                if key not in row:
                    raise ValueError(f"{where}: row {i} has no column {key!r} (columns: {sorted(row)})")
            label = row["label"]
            if isinstance(label, str):
                if label not in XNLI_LABELS:
                    raise ValueError(f"{where}: row {i} has label {label!r}; XNLI's labels are {XNLI_LABELS}")
            elif label is None or int(label) < 0:
                drops["no_gold_label"] += 1
                continue
            elif int(label) >= len(names):
                raise ValueError(f"{where}: row {i} has label id {label}, but there are {len(names)} classes")
            else:
                label = names[int(label)]
            premise, hypothesis = (row["premise"] or "").strip(), (row["hypothesis"] or "").strip()
            if not premise or not hypothesis:
                drops["empty_text"] += 1
                continue
            yield {
                "id": str(row.get("id") or f"{lang}-{i}"),
                "premise": premise,
                "hypothesis": hypothesis,
                "label": label,
            }
