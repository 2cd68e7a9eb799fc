"""Metric JSON files of the evaluate and retrieval stages, written by hand for the gather and
claims tests (the contract of docs/architecture.md)."""

from __future__ import annotations

import json
from pathlib import Path


def write_metric(
    root: Path,
    task: str,
    setting: str,
    objective: str,
    lang: str,
    seed: int,
    accuracy: float,
    majority: float | None = None,
    metrics: dict | None = None,
) -> Path:
    """``results/metrics/{task}/{setting}/{objective}/{lang}/seed{seed}.json``: ``accuracy`` and
    ``macro_f1`` = accuracy − 0.1, or the given ``metrics``."""
    path = Path(root) / task / setting / objective / lang / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "task": task,
        "setting": setting,
        "objective": objective,
        "lang": lang,
        "train_lang": "en" if setting == "zero_shot" else lang,
        "seed": seed,
        "n": 200,
        "metrics": metrics or {"accuracy": accuracy, "macro_f1": accuracy - 0.1},
    }
    if majority is not None:
        record["majority_baseline"] = majority
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def write_retrieval(root: Path, objective: str, lang: str, xx_en: float, en_xx: float, n: int = 100) -> Path:
    path = Path(root) / "retrieval" / objective / f"{lang}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "task": "retrieval",
        "objective": objective,
        "lang": lang,
        "layer": 3,
        "n": n,
        "metrics": {"p@1_xx_en": xx_en, "p@1_en_xx": en_xx},
    }
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def write_study(
    root: Path, scores: dict, task: str = "topic", seeds=(1, 2, 3), majority: dict | None = None
) -> list[Path]:
    """``scores[setting][objective][lang]`` = per-seed accuracies in points (one per seed, None = run
    missing); writes one metric file per (setting, objective, lang, seed) and returns the paths.
    ``majority[lang]``: the majority-class baseline (fraction) written into each file of ``lang``."""
    paths = []
    for setting, arms in scores.items():
        for objective, langs in arms.items():
            for lang, values in langs.items():
                assert len(values) == len(seeds)
                for seed, value in zip(seeds, values):
                    if value is None:  # a missing run
                        continue
                    paths.append(
                        write_metric(
                            root,
                            task,
                            setting,
                            objective,
                            lang,
                            seed,
                            value / 100.0,
                            majority=(majority or {}).get(lang),
                        )
                    )
    return paths
