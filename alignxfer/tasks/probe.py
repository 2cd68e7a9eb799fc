"""Frozen-feature linear probe: what an arm's encoder already separates, without fine-tuning.

Each document is encoded once by the frozen pre-trained encoder (no gradient reaches it); its
feature is the mean of one hidden layer's token vectors over the real tokens (as in retrieval).
A multinomial logistic regression is trained on the English training documents' features
(standardised with the English training mean and SD), full batch with L-BFGS in float64 from
zero weights: no random component at all, so one probe per arm (its metric files are
``seed0``) and no fine-tuning noise. The L2 strength is chosen from ``l2_grid`` on English dev
accuracy (ties: the stronger penalty). The chosen probe is tested on every language.

Metric files: the topic layout, ``setting: "probe"``, ``seed: 0``, plus ``l2``, ``layer``,
``dev_accuracy``; predictions files with the class scores.
"""

from __future__ import annotations

from collections import Counter

import torch

from alignxfer import metrics as M
from alignxfer.io import write_json, write_jsonl
from alignxfer.tasks.base import pick_device, setup_threads
from alignxfer.tasks.retrieval import encode_layers, resolve_layer
from alignxfer.tasks.topic import load_examples, load_labels

PROBE_SEED = 0  # the seed{seed} of a probe's metric files: the probe is deterministic

DEFAULTS = {"layer": -1, "l2_grid": [1.0e-4, 1.0e-3, 1.0e-2, 1.0e-1], "max_iter": 200}


def fit_logistic(x: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float, max_iter: int = 200) -> torch.Tensor:
    """Weights (features + 1, classes) of an L2-penalised multinomial logistic regression (bias
    not penalised), full-batch L-BFGS from zeros in float64: deterministic."""
    x = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
    w = torch.zeros(x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w, y) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def logits(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], dim=1) @ w


def run_probe(
    model_dir,
    train_path,
    dev_path,
    tests: dict,
    labels_path,
    outputs: dict,
    meta: dict,
    max_length: int,
    options: dict | None = None,
    threads: int | None = None,
    batch_size: int = 128,
) -> dict:
    """Train the probe on English train, select L2 on English dev, test on every ``tests[lang]``
    (a topic test file); ``outputs[lang] = (metric path, predictions path)``. Returns
    ``{lang: metric record}``."""
    from transformers import AutoModel, AutoTokenizer

    opts = {**DEFAULTS, **{k: v for k, v in (options or {}).items() if v is not None}}
    setup_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    labels = load_labels(labels_path)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    device = pick_device()
    model.to(device)
    index = resolve_layer(int(opts["layer"]), model.config.num_hidden_layers)

    def featurise(path):
        examples = load_examples(path, labels)
        x = encode_layers(model, tokenizer, [ex["text"] for ex in examples], max_length, batch_size, device)[index]
        return examples, x.double(), torch.tensor([ex["label_id"] for ex in examples])

    train, x_train, y_train = featurise(train_path)
    dev, x_dev, y_dev = featurise(dev_path)
    mean, sd = x_train.mean(dim=0), x_train.std(dim=0).clamp_min(1e-8)

    def standard(x):
        return (x - mean) / sd

    best = None
    grid = []
    for l2 in sorted(float(v) for v in opts["l2_grid"]):
        w = fit_logistic(standard(x_train), y_train, len(labels), l2, int(opts["max_iter"]))
        acc = M.accuracy(y_dev.tolist(), logits(w, standard(x_dev)).argmax(dim=1).tolist())
        grid.append({"l2": l2, "dev_accuracy": acc})
        if best is None or acc >= best[1]:  # ties: the stronger penalty (later in the sorted grid)
            best = (l2, acc, w)
    l2, dev_acc, w = best
    counts = Counter(labels[ex["label_id"]] for ex in train)
    majority = max(labels, key=lambda label: (counts[label], -labels.index(label)))
    results = {}
    for lang, test_path in tests.items():
        examples, x, y = featurise(test_path)
        scores = logits(w, standard(x))
        preds = scores.argmax(dim=1).tolist()
        gold = y.tolist()
        metric_path, predictions_path = outputs[lang]
        result = {
            "task": "topic",
            "setting": "probe",
            "objective": None,
            "lang": lang,
            "train_lang": "en",
            "seed": PROBE_SEED,
            **meta,
            "n": len(examples),
            "primary_metric": "accuracy",
            "metrics": M.classification_metrics(gold, preds),
            "majority_baseline": M.majority_accuracy([labels[g] for g in gold], majority),
            "majority_baseline_source": "train",
            "train_docs": len(train),
            "layer": int(opts["layer"]),
            "l2": l2,
            "l2_grid": grid,
            "dev_accuracy": dev_acc,
            "max_length": int(max_length),
            "test_file": str(test_path),
        }
        write_jsonl(
            predictions_path,
            (
                {
                    "id": ex["doc_id"],
                    "gold": labels[g],
                    "pred": labels[p],
                    "correct": g == p,
                    "scores": [round(float(s), 6) for s in row],
                }
                for ex, g, p, row in zip(examples, gold, preds, scores)
            ),
        )
        write_json(metric_path, result)
        results[lang] = result
    return results
