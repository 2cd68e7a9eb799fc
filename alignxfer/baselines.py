"""Model-free baselines of the topic task, on the workflow's own splits: rows any model must beat.

* ``majority``: always the English training set's most frequent label (ties: first by name).
* ``tfidf``: word TF-IDF (words of :func:`alignxfer.words.segment`, case-folded, sublinear tf,
  unigrams) + multinomial logistic regression, trained on the **English training set only**
  (no cross-lingual knowledge: words of another language are unknown to it, except the ones
  shared with English, such as names and numbers); the inverse regularisation ``C`` is chosen on
  the English dev set (accuracy, ties: the smaller C) from :data:`C_GRID`; liblinear-free lbfgs,
  deterministic.

Each writes, per test language, ``{"task", "setting": "zero_shot", "baseline", "lang", "n",
"metrics": {"accuracy", "macro_f1"}, ...}`` to ``results/metrics/{task}/baselines/{name}/{lang}.json``
and beside it ``{lang}.predictions.jsonl`` (``{"id", "gold", "pred", "correct"}``, tfidf adds
``"scores"``, the class probabilities in label order).
"""

from __future__ import annotations

import collections
from pathlib import Path

from . import metrics as M
from .io import write_json, write_jsonl
from .tasks.topic import load_examples, load_labels
from .words import segment

NAMES = ("majority", "tfidf")
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def _words(text: str) -> list[str]:
    return [w.casefold() for w in segment(text)]


def majority_label(train: list[dict], labels: list[str]) -> str:
    counts = collections.Counter(labels[e["label_id"]] for e in train)
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _tfidf_model(train: list[dict], dev: list[dict]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=_words, sublinear_tf=True)
    x_train = vectorizer.fit_transform([e["text"] for e in train])
    y_train = [e["label_id"] for e in train]
    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000, random_state=0).fit(x_train, y_train)
        if dev:
            pred = model.predict(vectorizer.transform([e["text"] for e in dev]))
            score = M.accuracy([e["label_id"] for e in dev], list(pred))
        else:
            score = 0.0
        if best is None or score > best[0]:
            best = (score, c, model)
    return vectorizer, best[2], {"C": best[1], "dev_accuracy": best[0], "vocabulary": len(vectorizer.vocabulary_)}


def run_baselines(train_path, dev_path, labels_path, tests: dict, outputs: dict, task: str = "topic") -> dict:
    """``tests``: {lang: test file}; ``outputs``: {(name, lang): metric JSON path}. Returns the
    metric blocks {(name, lang): metrics}."""
    labels = load_labels(labels_path)
    train = load_examples(train_path, labels)
    dev = load_examples(dev_path, labels) if dev_path else []
    if not train:
        raise ValueError(f"{train_path}: no training examples, so no baseline can be trained")
    majority = majority_label(train, labels)
    vectorizer = model = fit_info = None
    if any(name == "tfidf" for name, _ in outputs):
        vectorizer, model, fit_info = _tfidf_model(train, dev)
    results = {}
    for (name, lang), out in outputs.items():
        examples = load_examples(tests[lang], labels)
        gold = [labels[e["label_id"]] for e in examples]
        scores = None
        if name == "majority":
            pred = [majority] * len(examples)
            extra = {"majority_label": majority}
        elif name == "tfidf":
            x = vectorizer.transform([e["text"] for e in examples])
            proba = model.predict_proba(x) if examples else []
            classes = list(model.classes_)
            pred = [labels[classes[int(row.argmax())]] for row in proba]
            scores = [
                [float(row[classes.index(i)]) if i in classes else 0.0 for i in range(len(labels))] for row in proba
            ]
            extra = {"fit": fit_info}
        else:
            raise ValueError(f"unknown baseline {name!r}; known: {list(NAMES)}")
        result = {
            "task": task,
            "setting": "zero_shot",
            "baseline": name,
            "lang": lang,
            "train_lang": "en",
            "n": len(examples),
            "metrics": M.classification_metrics(gold, pred) if examples else {"accuracy": 0.0, "macro_f1": 0.0},
            "test_file": str(tests[lang]),
            **extra,
        }
        write_json(out, result)
        rows = []
        for i, (e, g, p) in enumerate(zip(examples, gold, pred)):
            row = {"id": e["doc_id"], "gold": g, "pred": p, "correct": g == p}
            if scores is not None:
                row["scores"] = scores[i]
            rows.append(row)
        write_jsonl(Path(str(out)[: -len(".json")] + ".predictions.jsonl"), rows)
        results[(name, lang)] = result["metrics"]
    return results
