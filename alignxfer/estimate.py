"""``python -m alignxfer.estimate CONFIG [CONFIG...]``: what a study costs before it starts.

Prints, per rule of the **planned DAG** (``snakemake -n`` in an empty folder, so every job of the
study is counted, whatever already exists here), the number of jobs, the GPU-hours and the disk
its outputs take, then the totals and the wall time on a given number of GPUs.

How the figures are made (every input is printed with the estimate, labelled):

* **Jobs**: counted from the plan, with their wildcards (task, objective, language, seed).
* **GPU time** of a job = its training/inference FLOPs / (GPU bf16 peak x utilisation) + steps x a
  per-step overhead + a per-job start-up. FLOPs per token of a BERT encoder with N
  non-embedding parameters, L layers, width d, sequence length s: training 6N + 12·L·s·d (the
  attention scores), inference a third of that; the MLM head on the masked positions only
  (mask_prob x 6·d·V). Tokens come from the study's sizes (steps x batch for pre-training;
  examples x epochs for fine-tuning) and **assumed mean lengths** of each data set after
  padding (``ASSUMED`` below). Data set sizes are the published ones (``PUBLISHED``).
* **Disk**: models at 4 bytes per parameter (safetensors, fp32); a pre-training checkpoint
  adds AdamW's two moments (12 bytes per parameter; removed when the model is saved); task data,
  corpora and the Hugging Face cache at assumed sizes.

No GPU was available when this module was written, so the utilisation and overheads are
**assumptions, not measurements**: typical of Hugging Face BERT-base training at batch 32 and
sequences <= 384 on an A100 in bf16 (about 10% of peak). Measure them with a pilot run (the
benchmark files under ``results/benchmarks/`` give each job's seconds) and pass ``--mfu``,
``--step-overhead`` and ``--peak-tflops`` to rescale.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: published sizes (papers and dataset cards)
PUBLISHED = {
    "mbert": {
        "layers": 12,
        "hidden": 768,
        "intermediate": 3072,
        "vocab": 119547,
        "positions": 512,
        "source": "google-bert/bert-base-multilingual-cased config.json",
    },
    "xnli_train": 392702,  # MultiNLI train, as XNLI distributes it (and each translation)
    "xnli_dev": 2490,  # per language
    "xnli_test": 5010,  # per language
    "squad_train": 87599,  # SQuAD v1.1
    "mlqa_dev_en": 1148,
    "mlqa_test": {"en": 11590, "ar": 5335, "de": 4517, "es": 5253, "hi": 4918, "vi": 5495, "zh": 5137},
    "a100_bf16_tflops": 312.0,  # dense bf16 peak of an A100 (NVIDIA data sheet)
}

#: assumptions (no measurement possible in this environment); change them with the options
ASSUMED = {
    "mfu": 0.10,  # achieved / peak FLOP/s of BERT-base training at batch 32
    "step_overhead_s": 0.02,  # per optimiser step (kernel launches, AdamW over 178M parameters)
    "job_overhead_s": 90.0,  # per job: imports, model load and save, data encoding
    "bitext_tokens_per_side": 40,  # TED2020 sentence, mBERT subwords incl. [CLS]/[SEP], after padding
    "xnli_tokens_per_pair": 75,  # premise + hypothesis, after per-batch padding (cap: max_length)
    "squad_tokens_per_window": 300,  # question + context window, after padding (cap: max_length)
    "squad_windows_per_question": 1.1,
    "mlqa_translate_train": 80000,  # questions per language in mlqa-translate-train (SQuAD, machine translated)
    "mlqa_translate_dev": 10000,
    "objective_passes": {"mlm": 1.0, "tlm": 1.0, "weam": 1.0, "word_aligned": 1.17, "contrastive": 2.0},
    # GB: the Hugging Face cache (parquet + datasets' arrow copies) and the bitext per language
    "hf_cache_gb": {"xnli": 4.0, "mlqa": 3.0, "model": 0.7},
    "bitext_gb_per_language": 0.4,  # archive, extracted corpus, prepared, tokenized and aligned files
}


def encoder_params(m: dict) -> float:
    """Non-embedding parameters of a BERT encoder (attention, feed-forward, layer norms)."""
    d, f = m["hidden"], m["intermediate"]
    per_layer = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    return m["layers"] * per_layer


def all_params(m: dict) -> float:
    return encoder_params(m) + (m["vocab"] + m["positions"] + 2 + 2) * m["hidden"]  # + token types, layer norm


def train_flops_per_token(m: dict, seq: float, mlm_prob: float = 0.0) -> float:
    return (
        6 * encoder_params(m)
        + 12 * m["layers"] * seq * m["hidden"]
        + mlm_prob * 6 * m["hidden"] * (m["vocab"] + m["hidden"])
    )


def infer_flops_per_token(m: dict, seq: float) -> float:
    return train_flops_per_token(m, seq) / 3


# --------------------------------------------------------------------------- the plan


def planned_jobs(configs: list[str], snakefile: Path = REPO / "Snakefile") -> list[tuple[str, dict]]:
    """``[(rule, wildcards)]`` of every job of a fresh study (``snakemake -n`` in an empty folder)."""
    with tempfile.TemporaryDirectory(prefix="alignxfer-estimate-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--snakefile",
            str(snakefile),
            "--directory",
            tmp,
            "--configfile",
            *[str(Path(c).resolve()) for c in configs],
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    if result.returncode != 0:
        raise SystemExit(f"planning failed ({' '.join(cmd)}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    jobs, rule, wildcards = [], None, {}
    for line in (result.stdout + "\n" + result.stderr).splitlines():
        head = re.match(r"^(?:local)?rule (\w+):$", line)
        if head:
            if rule:
                jobs.append((rule, wildcards))
            rule, wildcards = head.group(1), {}
            continue
        found = re.match(r"^\s+wildcards: (.*)$", line)
        if found and rule:
            wildcards = dict(item.split("=", 1) for item in found.group(1).split(", "))
        elif rule and not line.strip():
            jobs.append((rule, wildcards))
            rule, wildcards = None, {}
    if rule:
        jobs.append((rule, wildcards))
    return jobs


# --------------------------------------------------------------------------- costs


class Model:
    def __init__(self, cfg: dict, assumed: dict, published: dict):
        self.cfg, self.a, self.p = cfg, assumed, published
        self.m = (
            published["mbert"]
            if cfg["base"]["source"] == "pretrained"
            else {
                "layers": cfg["base"]["architecture"]["num_hidden_layers"],
                "hidden": cfg["base"]["architecture"]["hidden_size"],
                "intermediate": cfg["base"]["architecture"]["intermediate_size"],
                "vocab": cfg["tokenizer"]["vocab_size"],
                "positions": cfg["base"]["architecture"]["max_position_embeddings"],
            }
        )
        self.flops_per_s = assumed["peak_tflops"] * 1e12 * assumed["mfu"]
        self.model_gb = all_params(self.m) * 4 / 1e9

    def seconds(self, flops: float, steps: float) -> float:
        return flops / self.flops_per_s + steps * self.a["step_overhead_s"] + self.a["job_overhead_s"]

    # ---- sizes
    def task_sizes(self, task: str, lang: str, translated: bool) -> tuple[int, int, int]:
        """(train examples, dev examples, test examples) of one fine-tuning job."""
        t = self.cfg["tasks"][task]
        cap = t.get("max_train_examples")
        if task == "xnli":
            train, dev, test = self.p["xnli_train"], self.p["xnli_dev"], self.p["xnli_test"]
        else:
            train = self.a["mlqa_translate_train"] if translated else self.p["squad_train"]
            dev = self.a["mlqa_translate_dev"] if translated else self.p["mlqa_dev_en"]
            test = self.p["mlqa_test"].get(lang, 5000)
        return (min(train, cap) if cap else train), dev, test

    def task_tokens(self, task: str) -> float:
        hp_len = self.cfg["tasks"][task].get("max_length") or self.cfg["finetuning"]["max_length"]
        if task == "xnli":
            return min(self.a["xnli_tokens_per_pair"], hp_len)
        return min(self.a["squad_tokens_per_window"], hp_len) * self.a["squad_windows_per_question"]

    def finetune_seconds(self, task: str, lang: str, translated: bool) -> float:
        train, dev, test = self.task_sizes(task, lang, translated)
        ft = self.cfg["finetuning"]
        tokens = self.task_tokens(task)
        seq = tokens / (self.a["squad_windows_per_question"] if task == "mlqa" else 1)
        epochs = ft["epochs"]
        if translated and ft.get("translate_train_epochs"):  # translate-train's own epochs (rules/common.smk)
            epochs = ft["translate_train_epochs"]
        flops = epochs * train * tokens * train_flops_per_token(self.m, seq)
        flops += epochs * dev * tokens * infer_flops_per_token(self.m, seq)  # dev selection each epoch
        if translated:
            flops += test * tokens * infer_flops_per_token(self.m, seq)
        return self.seconds(flops, epochs * train / ft["batch_size"])

    def zero_shot_eval_seconds(self, task: str) -> float:
        langs = ["en"] + list(self.cfg["tasks"][task]["languages"])
        tokens = self.task_tokens(task)
        seq = tokens / (self.a["squad_windows_per_question"] if task == "mlqa" else 1)
        n = sum(self.task_sizes(task, lang, False)[2] for lang in langs)
        return self.seconds(n * tokens * infer_flops_per_token(self.m, seq), 0)

    def pretrain_seconds(self, objective: str, budget: dict, mask_prob: float) -> float:
        side = min(self.a["bitext_tokens_per_side"], budget["max_length"])
        passes = self.a["objective_passes"].get(objective, 1.0)
        steps = budget["steps"] * budget.get("gradient_accumulation", 1)
        tokens = steps * budget["batch_size"] * 2 * side * passes
        seq = 2 * side if objective == "tlm" else side
        return self.seconds(tokens * train_flops_per_token(self.m, seq, mask_prob), steps)

    def retrieval_seconds(self) -> float:
        pairs = self.cfg["prepare"]["max_retrieval_pairs"] * len(self.cfg["corpus"]["languages"])
        side = min(self.a["bitext_tokens_per_side"], self.cfg["tasks"]["retrieval"]["max_length"])
        return self.seconds(pairs * 2 * side * infer_flops_per_token(self.m, side), 0)

    # ---- one job
    def job(self, rule: str, wc: dict) -> tuple[float, float, str]:
        """(GPU seconds, disk GB, note) of one planned job; GPU seconds None for CPU jobs."""
        cfg = self.cfg
        if rule == "pretrain":
            obj = wc["objective"]
            mask = cfg["pretraining"].get(obj, {}).get("mask_prob", 0.0) if obj != "word_aligned" else 0.0
            return (
                self.pretrain_seconds(obj, cfg["pretraining"]["budget"], mask),
                self.model_gb,
                "model (checkpoint removed at the end)",
            )
        if rule == "pretrain_base":
            return self.pretrain_seconds("mlm", cfg["base"]["training"], 0.15), self.model_gb, "model"
        if rule == "finetune":
            return self.finetune_seconds(wc["task"], "en", False), self.model_gb, "fine-tuned model"
        if rule.startswith("evaluate_zero_shot"):
            task = wc.get("task") or rule.rsplit("_", 1)[1]
            return self.zero_shot_eval_seconds(task), 0.0, ""
        if rule == "translate_train":
            seeds = len(cfg["finetuning"]["seeds"]) if cfg["finetuning"]["group_seeds"] else 1
            return (
                seeds * self.finetune_seconds(wc["task"], wc["lang"], True),
                0.0,
                f"temporary model {self.model_gb:.1f} GB while it runs",
            )
        if rule == "retrieval":
            return self.retrieval_seconds(), 0.0, ""
        if rule == "load_base":
            return None, self.model_gb, "copy of the hub model"
        if rule == "download_pair":
            return None, self.a["bitext_gb_per_language"], "bitext (all its stages)"
        if rule in ("prepare_task_english", "prepare_task_test", "prepare_task_translated"):
            return None, 0.0, "task files (small; the hub cache is counted once)"
        return None, 0.0, ""


def estimate(configs: list[str], gpus: int = 1, assumed: dict | None = None, jobs=None) -> dict:
    import yaml

    from alignxfer.config import merge_config, validate_config

    cfg: dict = {}
    for path in [REPO / "config.yaml", *configs]:
        merge_config(cfg, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    cfg = validate_config(cfg, source=", ".join(map(str, configs)))
    a = {**ASSUMED, "peak_tflops": PUBLISHED["a100_bf16_tflops"], **(assumed or {})}
    model = Model(cfg, a, PUBLISHED)
    jobs = planned_jobs(configs) if jobs is None else jobs
    per_rule: dict = defaultdict(lambda: {"jobs": 0, "gpu_s": 0.0, "disk_gb": 0.0, "gpu": False, "note": ""})
    for rule, wc in jobs:
        seconds, disk, note = model.job(rule, wc)
        row = per_rule[rule]
        row["jobs"] += 1
        row["disk_gb"] += disk
        row["note"] = note
        if seconds is not None:
            row["gpu"] = True
            row["gpu_s"] += seconds
    cache = a["hf_cache_gb"]
    extra_disk = {
        "Hugging Face cache": sum(cache[t] for t in ("xnli", "mlqa") if cfg["tasks"][t]["enabled"])
        + cache["model"] * (cfg["base"]["source"] == "pretrained")
    }
    gpu_hours = sum(r["gpu_s"] for r in per_rule.values()) / 3600
    longest = max((model.job(rule, wc)[0] or 0.0 for rule, wc in jobs), default=0.0) / 3600
    return {
        "config": list(map(str, configs)),
        "model": model,
        "per_rule": dict(per_rule),
        "extra_disk": extra_disk,
        "jobs": len(jobs),
        "planned": jobs,
        "gpu_hours": gpu_hours,
        "disk_gb": sum(r["disk_gb"] for r in per_rule.values()) + sum(extra_disk.values()),
        "wall_hours": max(gpu_hours / max(gpus, 1), longest),
        "gpus": gpus,
        "assumed": a,
    }


def report(result: dict) -> str:
    m, a = result["model"], result["assumed"]
    lines = [
        f"Estimate for {' + '.join(result['config'])}: {result['jobs']} jobs",
        f"model: {'mBERT (pretrained)' if m.cfg['base']['source'] == 'pretrained' else 'scratch base'}, "
        f"{all_params(m.m) / 1e6:.0f}M parameters ({encoder_params(m.m) / 1e6:.0f}M non-embedding), {m.model_gb:.2f} GB per saved model",
        f"GPU: {a['peak_tflops']:.0f} TFLOP/s bf16 peak (A100, PUBLISHED) x {a['mfu']:.0%} utilisation (ASSUMED) = "
        f"{m.flops_per_s / 1e12:.1f} TFLOP/s; + {a['step_overhead_s'] * 1000:.0f} ms per step and {a['job_overhead_s']:.0f} s per job (ASSUMED)",
        "",
        f"{'rule':<28}{'jobs':>6}{'GPU-hours':>12}{'disk GB':>10}  note",
    ]
    for rule, row in sorted(result["per_rule"].items(), key=lambda kv: (-kv[1]["gpu_s"], kv[0])):
        gpu = f"{row['gpu_s'] / 3600:.1f}" if row["gpu"] else "CPU"
        lines.append(f"{rule:<28}{row['jobs']:>6}{gpu:>12}{row['disk_gb']:>10.1f}  {row['note']}")
    for name, gb in result["extra_disk"].items():
        lines.append(f"{'(' + name + ')':<28}{'':>6}{'':>12}{gb:>10.1f}  ASSUMED sizes")
    lines += [
        "",
        f"total: {result['jobs']} jobs, {result['gpu_hours']:.0f} GPU-hours, {result['disk_gb']:.0f} GB of disk "
        f"(+ {m.model_gb:.1f} GB per translate-train job running at once)",
        f"wall time on {result['gpus']} GPU(s), perfectly packed: {result['wall_hours']:.1f} h "
        f"({result['wall_hours'] / 24:.1f} days)",
        "",
        "assumed data lengths (mBERT subwords after padding): "
        f"bitext {a['bitext_tokens_per_side']}/side, XNLI {a['xnli_tokens_per_pair']}/pair, SQuAD/MLQA "
        f"{a['squad_tokens_per_window']}/window x {a['squad_windows_per_question']} windows/question; "
        "measure a pilot run and rescale with --mfu / --step-overhead / --job-overhead",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alignxfer.estimate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "configs", nargs="+", help="config files, merged over config.yaml in order like snakemake --configfile"
    )
    parser.add_argument(
        "--gpus", type=int, default=1, help="GPUs working at once, for the wall time (default: %(default)s)"
    )
    parser.add_argument(
        "--mfu",
        type=float,
        default=ASSUMED["mfu"],
        help="achieved fraction of the bf16 peak (default: %(default)s, assumed)",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=PUBLISHED["a100_bf16_tflops"],
        help="GPU bf16 peak (default: A100, %(default)s)",
    )
    parser.add_argument(
        "--step-overhead",
        type=float,
        default=ASSUMED["step_overhead_s"],
        help="seconds per optimiser step (default: %(default)s)",
    )
    parser.add_argument(
        "--job-overhead", type=float, default=ASSUMED["job_overhead_s"], help="seconds per job (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    result = estimate(
        args.configs,
        gpus=args.gpus,
        assumed={
            "mfu": args.mfu,
            "peak_tflops": args.peak_tflops,
            "step_overhead_s": args.step_overhead,
            "job_overhead_s": args.job_overhead,
        },
    )
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
