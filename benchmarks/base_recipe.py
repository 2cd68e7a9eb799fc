"""Base-recipe search (issue #11): train the default study's base with variants of its recipe on the
study's own tokenized bitext and print each one's held-out MLM loss against the unigram
cross-entropy of the same masked tokens.

Run after the data stages of the default study exist (``results/tokenized``, ``results/tokenizer``):

    python benchmarks/base_recipe.py --out /tmp/recipe            # every variant
    python benchmarks/base_recipe.py --out /tmp/recipe --only mlm_only lr2e-3

Each variant overrides keys of ``base.training`` / ``base.architecture`` of ``config.yaml``; the
held-out pairs are the study's own (``pretraining.heldout``), never trained on. Prints one Markdown
row per variant: steps, wall seconds, held-out MLM loss, unigram cross-entropy, their gap, and the
held-out translation-ranking accuracy. The results of the measured variants are in
``docs/base-recipe.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "default": {},
    "mlm_only": {"training": {"objective": "mlm"}},
    "mask0.3": {"training": {"mask_prob": 0.3}},
    "lr2e-3": {"training": {"learning_rate": 2.0e-3}},
    "mask0.3_lr2e-3": {"training": {"mask_prob": 0.3, "learning_rate": 2.0e-3}},
    "rank0.2": {"training": {"contrastive": {"mlm_weight": 5.0}}},
    "steps2000": {"training": {"steps": 2000}},
}


def deep_update(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = deep_update(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--only", nargs="*", default=None, help=f"variants among {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=None, help="override every variant's steps")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from alignxfer.config import load_config
    from alignxfer.pretraining import pretrain_base

    config = load_config(ROOT / "config.yaml")
    tokenized = sorted(str(p) for p in (ROOT / "results/tokenized").iterdir())
    names = args.only or list(VARIANTS)
    print("| variant | steps | wall s | held-out MLM loss | unigram CE | gap (nats) | ranking acc |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for name in names:
        over = VARIANTS[name]
        training = deep_update(config["base"]["training"], over.get("training", {}))
        if args.steps:
            training["steps"] = args.steps
        architecture = deep_update(config["base"]["architecture"], over.get("architecture", {}))
        out = args.out / name
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        pretrain_base(
            tokenized,
            ROOT / "results/tokenizer",
            out / "model",
            out / "history.jsonl",
            architecture=architecture,
            training=training,
            seed=config["seed"],
            bf16=config["pretraining"]["bf16"],
            threads=args.threads,
            heldout=config["pretraining"]["heldout"],
            heldout_path=out / "heldout.json",
            split_seed=config["seed"],
        )
        wall = time.perf_counter() - start
        after = json.loads((out / "heldout.json").read_text())["after"]
        gap = after["unigram_cross_entropy"] - after["mlm_loss"]
        print(
            f"| {name} | {training['steps']} | {wall:.0f} | {after['mlm_loss']:.3f} | "
            f"{after['unigram_cross_entropy']:.3f} | {gap:.3f} | {after['ranking_accuracy']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
