"""Arm-budget check (issue #11): continue a finished study's base with one arm under another
``pretraining.budget`` (steps, learning rate) and print that arm's own held-out mechanism check.

Run beside a complete default study (its ``results/models/base``, ``results/tokenized`` and
``results/align`` are read, nothing in it is written):

    python benchmarks/arm_budget.py --study /work/run1 --out /tmp/arms tlm weam --steps 150 --lr 2e-4

Every arm is trained with ``config.yaml``'s options and held-out split (``pretraining.heldout``),
one thread, the given pre-training seed. Prints one Markdown row per arm: steps, learning rate,
wall seconds, held-out MLM loss before -> after, the mechanism metric before -> after and whether
it counts as learned (the rule of ``results/tables/treatment.md``). The measured rows are in
``docs/base-recipe.md`` ("The arms' budget").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("arms", nargs="+", help="objectives to continue the base with (mlm, tlm, weam, ...)")
    parser.add_argument("--study", required=True, type=Path, help="folder of a complete default study")
    parser.add_argument("--out", required=True, type=Path, help="scratch folder for the arms' models")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--seed", type=int, default=13, help="pre-training seed (data order, masks, dropout)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import yaml

    from alignxfer import registry
    from alignxfer.pretraining import continue_pretraining

    cfg = yaml.safe_load(args.config.read_text())
    results = args.study / "results"
    if not (results / "models" / "base" / "model").is_dir():
        parser.error(f"{results / 'models/base/model'} does not exist: run the study first")
    langs = cfg["corpus"]["languages"]

    def links(kind):
        return {lang: str(results / "align" / f"en-{lang}" / f"{kind}.txt") for lang in langs}

    tokenized = {lang: str(results / "tokenized" / f"en-{lang}") for lang in langs}
    budget = dict(cfg["pretraining"]["budget"], steps=args.steps, learning_rate=args.lr)
    print("| arm | steps | lr | wall s | held-out MLM loss | mechanism | before -> after | learned |")
    print("|---|---:|---:|---:|---|---|---|---|")
    for arm in args.arms:
        kind = registry.OBJECTIVES[arm].alignments
        out = args.out / f"{arm}_s{args.steps}_lr{args.lr:g}_p{args.seed}"
        start = time.perf_counter()
        continue_pretraining(
            arm,
            str(results / "models" / "base" / "model"),
            tokenized,
            links(kind) if kind else None,
            str(out / "model"),
            str(out / "history.jsonl"),
            budget=budget,
            options=cfg["pretraining"][arm],
            seed=args.seed,
            bf16=cfg["pretraining"]["bf16"],
            checkpoint_dir=str(out / "checkpoints"),
            checkpoint_every=0,
            threads=args.threads,
            heldout=cfg["pretraining"]["heldout"],
            heldout_path=str(out / "heldout.json"),
            split_seed=cfg["seed"],
            check_alignments={"symmetrized": links("symmetrized"), "intersection": links("intersection")},
        )
        wall = time.perf_counter() - start
        check = json.loads((out / "heldout.json").read_text())
        mech = check["mechanism"]
        print(
            f"| {arm} | {args.steps} | {args.lr:g} | {wall:.0f} | "
            f"{check['before']['mlm_loss']:.3f} -> {check['after']['mlm_loss']:.3f} | {mech['metric']} | "
            f"{mech['before']:.4f} -> {mech['after']:.4f} | {'yes' if mech['learned'] else 'no'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
