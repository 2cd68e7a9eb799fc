"""Evaluation metrics shared by the task plug-ins.

Classification: accuracy and macro-F1. Retrieval: precision@1 from a similarity matrix.
Extractive-QA metrics (MLQA F1/EM) live with their task plug-in; anything task-independent
that more than one task needs belongs here.

All functions take plain Python sequences or numpy arrays and return floats in [0, 1].
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np


def _check_lengths(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold and predicted labels differ in length ({len(gold)} vs {len(pred)})")
    if len(gold) == 0:
        raise ValueError("no examples to score")


def accuracy(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Fraction of examples whose predicted label equals the gold label."""
    _check_lengths(gold, pred)
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def per_class_f1(gold: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence[Hashable] | None = None) -> dict:
    """F1 of each class (one-vs-rest). ``labels`` defaults to the classes seen in gold or predictions.

    A class with no gold and no predicted example has an undefined F1; it is left out when
    ``labels`` is not given and scored 0.0 when it is named explicitly (scikit-learn's convention).
    """
    _check_lengths(gold, pred)
    if labels is None:
        labels = sorted(set(gold) | set(pred), key=str)
    true_pos: Counter = Counter()
    gold_count: Counter = Counter(gold)
    pred_count: Counter = Counter(pred)
    for g, p in zip(gold, pred):
        if g == p:
            true_pos[g] += 1
    scores = {}
    for label in labels:
        denom = gold_count[label] + pred_count[label]
        scores[label] = 2.0 * true_pos[label] / denom if denom else 0.0
    return scores


def macro_f1(gold: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence[Hashable] | None = None) -> float:
    """Unweighted mean of the per-class F1 scores over the classes present in gold or predictions.

    Passing ``labels`` averages over exactly those classes instead (absent classes count 0).
    """
    scores = per_class_f1(gold, pred, labels)
    return float(np.mean(list(scores.values()))) if scores else 0.0


def majority_accuracy(gold: Sequence[Hashable], majority_label: Hashable | None = None) -> float:
    """Accuracy of always predicting ``majority_label`` (default: the most frequent gold label)."""
    if len(gold) == 0:
        raise ValueError("no examples to score")
    counts = Counter(gold)
    if majority_label is None:
        return max(counts.values()) / len(gold)
    return counts[majority_label] / len(gold)


def precision_at_1(similarity, gold=None, candidate_keys: Sequence[Hashable] | None = None) -> float:
    """Precision@1 of retrieving, for each query row, the highest-scoring candidate column.

    ``similarity`` is a (queries x candidates) matrix. ``gold[i]`` is the index of query i's
    correct candidate (default: i, the diagonal). With ``candidate_keys`` (e.g. the candidate
    texts), a retrieved candidate also counts as correct when its key equals the gold
    candidate's key, so that duplicate candidates do not count as errors. Ties go to the
    lowest column index.
    """
    sim = np.asarray(similarity)
    if sim.ndim != 2 or sim.shape[0] == 0 or sim.shape[1] == 0:
        raise ValueError(f"similarity must be a non-empty 2-d matrix, got shape {sim.shape}")
    gold_idx = np.arange(sim.shape[0]) if gold is None else np.asarray(gold)
    if len(gold_idx) != sim.shape[0]:
        raise ValueError("gold needs one index per query row")
    best = sim.argmax(axis=1)
    if candidate_keys is None:
        hits = best == gold_idx
    else:
        if len(candidate_keys) != sim.shape[1]:
            raise ValueError("candidate_keys needs one key per candidate column")
        hits = np.array([candidate_keys[b] == candidate_keys[g] for b, g in zip(best, gold_idx)])
    return float(hits.mean())


def classification_metrics(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> dict:
    """The metric block of a classification task's metric JSON."""
    return {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred)}
