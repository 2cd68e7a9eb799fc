"""How much of the topic documents fine-tuning sees, and what seeing more costs.

    PYTHONPATH=. python benchmarks/bench_finetune_length.py [--project DIR] [--lengths 64 128]
        [--epochs 1] [--threads 1] [--no-timing]

Truncation: with the study's tokenizer (``DIR/results/tokenizer``), every topic file
``DIR/results/data/topic/{train,test}.{lang}.jsonl`` is encoded exactly as the task encodes it
(``alignxfer.tasks.topic.encode``: words of ``alignxfer.words.segment``, special tokens
included); printed per file: documents, median and 90th-percentile length in tokens, and the
share of documents longer than each ``--lengths`` value (truncated).

Cost: one fine-tuning job of the default study's size (English train and dev of ``DIR``,
``finetuning`` of ``--config``) on a from-scratch model of ``base.architecture`` (the weights do
not change the time per step), run with ``alignxfer.tasks.base.train_with_dev_selection`` for
``--epochs`` epochs at each length, ``--threads`` torch threads (the study's jobs use
``threads: 1``). Prints seconds per epoch (training only) and per dev evaluation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def truncation(tokenizer, path, lengths) -> dict:
    from alignxfer.io import read_jsonl
    from alignxfer.words import segment

    texts = [r["text"] for r in read_jsonl(path)]
    enc = tokenizer([segment(t) for t in texts], is_split_into_words=True, truncation=False)
    n = sorted(len(ids) for ids in enc["input_ids"])
    return {
        "docs": len(n),
        "median": statistics.median(n),
        "p90": n[int(0.9 * (len(n) - 1))],
        **{f"over_{m}": sum(x > m for x in n) / len(n) for m in lengths},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default=str(REPO))
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args(argv)

    import torch
    import yaml
    from transformers import AutoTokenizer, BertForSequenceClassification

    from alignxfer.config import validate_config
    from alignxfer.tasks.base import setup_threads, train_with_dev_selection
    from alignxfer.tasks.topic import encode, load_examples, load_labels, predict

    project = Path(args.project)
    config = yaml.safe_load(Path(args.config).read_text())
    validate_config(config, source=args.config)
    tokenizer = AutoTokenizer.from_pretrained(str(project / "results/tokenizer"))
    data = project / "results/data/topic"
    print(f"# {' '.join(sys.argv)}")
    print("| file | docs | median tokens | p90 | " + " | ".join(f"> {m}" for m in args.lengths) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(args.lengths))
    for path in sorted(data.glob("t*.*.jsonl")):
        if "delex" in path.name or "matched" in path.name:
            continue
        t = truncation(tokenizer, path, args.lengths)
        cells = " | ".join(f"{100 * t[f'over_{m}']:.1f} %" for m in args.lengths)
        print(f"| {path.name} | {t['docs']} | {t['median']:.0f} | {t['p90']} | {cells} |", flush=True)
    if args.no_timing:
        return 0

    setup_threads(args.threads)
    labels = load_labels(data / "labels.json")
    train = load_examples(data / "train.en.jsonl", labels)
    dev = load_examples(data / "dev.en.jsonl", labels)
    arch = config["base"]["architecture"]
    hp = {k: v for k, v in config["finetuning"].items() if k not in ("seeds", "group_seeds")}
    print(
        f"\ntiming: {len(train)} train / {len(dev)} dev documents, batch {hp['batch_size']}, "
        f"threads {torch.get_num_threads()}, architecture {arch}"
    )
    for max_length in args.lengths:
        from transformers import BertConfig

        torch.manual_seed(0)
        model = BertForSequenceClassification(
            BertConfig(
                vocab_size=len(tokenizer),
                num_labels=len(labels),
                type_vocab_size=2,
                **{**arch, "max_position_embeddings": max(arch["max_position_embeddings"], max_length)},
            )
        )
        tr, dv = encode(tokenizer, train, max_length), encode(tokenizer, dev, max_length)
        eval_seconds = []

        def evaluate_dev(m, dv=dv, eval_seconds=eval_seconds):  # this length's dev set (bound now)
            start = time.perf_counter()
            preds, loss = predict(m, dv, 128, tokenizer.pad_token_id, torch.device("cpu"))
            eval_seconds.append(time.perf_counter() - start)
            return {"accuracy": sum(p == f["labels"] for p, f in zip(preds, dv)) / len(dv), "loss": loss}

        with tempfile.TemporaryDirectory() as tmp:
            train_with_dev_selection(
                model,
                tokenizer,
                tr,
                evaluate_dev,
                {**hp, "epochs": args.epochs, "max_length": max_length},
                1,
                Path(tmp) / "m",
                Path(tmp) / "h.jsonl",
                Path(tmp) / "d.json",
                "accuracy",
                device=torch.device("cpu"),
            )
            import json

            epochs = [json.loads(line) for line in (Path(tmp) / "h.jsonl").read_text().splitlines()]
        per_epoch = statistics.mean(e["epoch_seconds"] for e in epochs)
        print(
            f"max_length {max_length}: {per_epoch:.1f} s per training epoch, {statistics.mean(eval_seconds):.1f} s per dev "
            f"evaluation (mean of {len(epochs)})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
