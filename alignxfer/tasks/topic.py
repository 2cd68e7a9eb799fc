"""Topic classification (MLDoc-like, from Debian package descriptions): one text, one label.

Data: JSON lines ``{"doc_id", "text", "label"}``; ``labels.json`` is the list of label names
(its order fixes the class ids). Texts go through :func:`alignxfer.words.segment` and then the
tokenizer with ``is_split_into_words=True``, truncated to ``hparams['max_length']`` tokens.
The classifier is ``AutoModelForSequenceClassification`` on top of the pre-trained encoder
(its pooler and output layer are newly initialised, from the fine-tuning seed).
"""

from __future__ import annotations

from collections import Counter

import torch

from alignxfer import metrics as M
from alignxfer.io import read_json, read_jsonl
from alignxfer.tasks.base import (
    Task,
    iterate_eval_batches,
)
from alignxfer.words import segment


def load_labels(labels_path) -> list[str]:
    labels = read_json(labels_path)
    if not isinstance(labels, list) or not labels or len(set(labels)) != len(labels):
        raise ValueError(f"{labels_path}: expected a non-empty list of distinct label names")
    return [str(label) for label in labels]


def load_examples(path, labels: list[str]) -> list[dict]:
    """Read a topic jsonl file; every label must be one of ``labels``."""
    index = {label: i for i, label in enumerate(labels)}
    examples = []
    for lineno, record in enumerate(read_jsonl(path), 1):
        for key in ("doc_id", "text", "label"):
            if key not in record:
                raise ValueError(f"{path}:{lineno}: missing key {key!r}")
        if record["label"] not in index:
            raise ValueError(
                f"{path}:{lineno}: label {record['label']!r} of document {record['doc_id']!r} is not in the "
                f"label list {labels}"
            )
        examples.append({"doc_id": record["doc_id"], "text": record["text"], "label_id": index[record["label"]]})
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples


def encode(tokenizer, examples: list[dict], max_length: int) -> list[dict]:
    """Features: token ids (with special tokens, truncated), attention mask, label id."""
    return encode_words(tokenizer, [segment(ex["text"]) for ex in examples], examples, max_length)


def encode_words(tokenizer, words: list[list[str]], examples: list[dict], max_length: int) -> list[dict]:
    """Features of examples already split into ``words`` (one list per example)."""
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    features = []
    for i, ex in enumerate(examples):
        feature = {key: enc[key][i] for key in ("input_ids", "attention_mask", "token_type_ids") if key in enc}
        feature["labels"] = ex["label_id"]
        features.append(feature)
    return features


def predict(
    model, features: list[dict], batch_size: int, pad_token_id: int, device, scores: list | None = None
) -> tuple[list[int], float]:
    """Predicted class ids (in input order) and the mean cross-entropy loss; with a list
    ``scores``, also fills it with each example's class probabilities (input order)."""
    model.eval()
    preds = [0] * len(features)
    if scores is not None:
        scores[:] = [None] * len(features)
    loss_sum = 0.0
    with torch.no_grad():
        for idx, batch in iterate_eval_batches(features, batch_size, pad_token_id, device):
            out = model(**batch)
            loss_sum += float(out.loss) * len(idx)
            for i, p in zip(idx, out.logits.argmax(dim=-1).tolist()):
                preds[i] = p
            if scores is not None:
                for i, row in zip(idx, torch.softmax(out.logits.float(), dim=-1).tolist()):
                    scores[i] = row
    return preds, loss_sum / len(features)


class TopicTask(Task):
    name = "topic"

    # the two hooks a sentence(-pair) classification task changes (XNLI: premise/hypothesis pairs)
    def load_examples(self, path, labels: list[str]) -> list[dict]:
        return load_examples(path, labels)

    def encode(self, tokenizer, examples: list[dict], max_length: int) -> list[dict]:
        return encode(tokenizer, examples, max_length)

    # the hooks of Task.finetune / Task.evaluate
    def context(self, labels_path, hp: dict) -> list[str]:
        return load_labels(labels_path)

    def read_examples(self, path, labels: list[str]) -> list[dict]:
        return self.load_examples(path, labels)

    def features(self, tokenizer, examples, labels, hp, training, drops=None) -> list[dict]:
        return self.encode(tokenizer, examples, int(hp["max_length"]))

    def new_model(self, model_dir, labels: list[str]):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
        )

    def trained_model(self, model_dir, labels: list[str], labels_path):
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
        model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        if model_labels != labels:
            raise ValueError(f"{model_dir}: the model's labels {model_labels} differ from {labels_path}: {labels}")
        return model

    def predict(self, model, features, examples, labels, hp, pad_id, device, scores=False):
        probs: list | None = [] if scores else None
        preds, loss = predict(model, features, int(hp["eval_batch_size"]), pad_id, device, scores=probs)
        return preds, loss, probs

    def score(self, examples, features, preds, labels) -> dict:
        return M.classification_metrics([f["labels"] for f in features], preds)

    def train_info(self, train, dev, train_features, train_drops, labels) -> dict:
        counts = Counter(labels[ex["label_id"]] for ex in train)
        majority = max(labels, key=lambda label: (counts[label], -labels.index(label)))
        return {
            "labels": labels,
            "train_label_counts": {label: counts[label] for label in labels},
            "majority_label": majority,
            "n_train": len(train),
            "n_dev": len(dev),
        }

    def test_fields(self, examples, features, preds, labels, meta, info) -> dict:
        """The majority baseline: the test accuracy of always predicting the *training* majority
        class (from ``meta['majority_label']`` or the fine-tuned model's ``finetune_info.json``);
        failing both, the test set's own majority share."""
        gold = [f["labels"] for f in features]
        majority_label = meta.get("majority_label") or info.get("majority_label")
        if majority_label is not None:
            return {
                "majority_baseline": M.majority_accuracy([labels[g] for g in gold], majority_label),
                "majority_baseline_source": "train",
            }
        return {"majority_baseline": M.majority_accuracy(gold), "majority_baseline_source": "test"}

    def provenance_fields(self, info, meta) -> dict:
        """Comparability of settings (claim 6: zero-shot vs translate-train): training documents and stopping rule."""
        out = {}
        for key, info_key in (("train_docs", "n_train"), ("epochs_run", "epochs_run")):
            if info.get(info_key) is not None:
                out[key] = info[info_key]
        if info.get("hparams"):
            out["stopping"] = {
                "epochs": info["hparams"].get("epochs"),
                "patience": info["hparams"].get("patience"),
                "selection": f"best dev epoch ({meta.get('train_lang') or 'training-language'} dev)",
            }
        return out

    def prediction_records(self, examples, features, preds, probs, labels):
        gold = [f["labels"] for f in features]
        return (
            {
                "id": str(ex["doc_id"]),
                "gold": labels[g],
                "pred": labels[p],
                "correct": int(g == p),
                "scores": [round(float(v), 5) for v in probs[i]],
            }
            for i, (ex, g, p) in enumerate(zip(examples, gold, preds))
        )
