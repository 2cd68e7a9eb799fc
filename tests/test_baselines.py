"""Model-free baselines: the contract files, the majority class of English training, TF-IDF on English only."""

from __future__ import annotations

import json
import random
from pathlib import Path

from alignxfer.baselines import run_baselines

LABELS = ["games", "libs", "net"]
WORDS = {
    "games": ["play", "level", "score"],
    "libs": ["library", "shared", "linking"],
    "net": ["network", "socket", "packet"],
}
GERMAN = {"games": ["spielen", "Stufe"], "libs": ["Bibliothek", "gemeinsam"], "net": ["Netzwerk", "Paket"]}


def write(path: Path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def docs(n, vocab, rng, prefix, weights=(3, 2, 1)):
    out = []
    for i in range(n):
        label = rng.choices(LABELS, weights=weights)[0]
        words = [rng.choice(vocab[label]) for _ in range(5)] + ["the", "package"]
        out.append({"doc_id": f"{prefix}{i}", "text": " ".join(words), "label": label})
    return out


def test_majority_and_tfidf_files(tmp_path):
    rng = random.Random(0)
    train = write(tmp_path / "train.en.jsonl", docs(60, WORDS, rng, "tr"))
    dev = write(tmp_path / "dev.en.jsonl", docs(20, WORDS, rng, "dv"))
    labels = write(tmp_path / "labels.json", [])
    labels.write_text(json.dumps(LABELS))
    tests = {
        "en": write(tmp_path / "test.en.jsonl", docs(30, WORDS, rng, "te")),
        "de": write(tmp_path / "test.de.jsonl", docs(30, GERMAN, rng, "te", weights=(1, 1, 1))),
    }
    outputs = {
        (name, lang): tmp_path / f"metrics/{name}/{lang}.json" for name in ("majority", "tfidf") for lang in tests
    }
    run_baselines(train, dev, labels, tests, outputs)
    results = {k: json.loads(p.read_text()) for k, p in outputs.items()}
    for (name, lang), r in results.items():
        assert {"task", "setting", "baseline", "lang", "n", "metrics"} <= set(r)
        assert r["setting"] == "zero_shot" and r["baseline"] == name and r["lang"] == lang and r["n"] == 30
        preds = [
            json.loads(x) for x in (tmp_path / f"metrics/{name}/{lang}.predictions.jsonl").read_text().splitlines()
        ]
        assert len(preds) == 30 and all(p["correct"] == (p["gold"] == p["pred"]) for p in preds)
        assert sum(p["correct"] for p in preds) / 30 == r["metrics"]["accuracy"]
    assert results[("majority", "en")]["majority_label"] == "games"  # the most frequent training label
    assert {
        json.loads(x)["pred"] for x in (tmp_path / "metrics/majority/de.predictions.jsonl").read_text().splitlines()
    } == {"games"}
    # English words separate the classes; German words are unknown to an English-only model
    assert results[("tfidf", "en")]["metrics"]["accuracy"] > 0.9
    assert results[("tfidf", "de")]["metrics"]["accuracy"] < 0.7
    assert results[("tfidf", "en")]["fit"]["C"] in (0.3, 1.0, 3.0, 10.0, 30.0)
