"""Pre-training throughput: this project's loop vs Hugging Face Trainer on the same model and data.

    PYTHONPATH=. python benchmarks/bench_pretrain.py [--project DIR] [--steps 30] [--warmup 5] [--threads N]

Model: ``base.architecture`` of ``--config`` (default ``config.yaml``), a from-scratch
``BertForMaskedLM`` built by ``alignxfer.modeling.build_scratch_model`` (SDPA attention); batch
size, max_length, learning rate, warmup ratio, weight decay, mask probability from
``base.training``. Data: ``DIR/results/tokenizer`` + ``DIR/results/tokenized/en-*`` when they
exist (``--project``, default this checkout), else a WordPiece tokenizer (``tokenizer.vocab_size``)
and a tokenized dataset built by ``alignxfer.tokenization`` from a synthetic corpus (see
``benchmarks/_common.py``). Both loops train on exactly the same sentences:
``alignxfer.data.load_sentences`` (both sides of every pair, truncated to max_length - 2 content
tokens, exact duplicates dropped); the Trainer gets them as ``[CLS] ids [SEP]``.

Runs, each in its own child process (peak RSS = that child's own VmHWM at its end, interpreter
and imports included; see ``_common.py``), all with the same torch threads (``--threads``, default the
config's ``threads``, the workflow's per-job thread count):

1. 2048x2048 matmuls in bf16 and fp32 (the FLOP/s references; this child's RSS is the floor:
   torch + transformers + alignxfer imported, no data);
2. the project's loop: ``alignxfer.training.loop.train`` with ``SentenceMLM``, exactly what
   ``pretrain_base`` runs (bucketed batches, stateless BERT masking, bf16 autocast when the CPU has
   native bf16, the MLM head on masked positions only, AdamW, linear schedule, clipping);
3. ``transformers.Trainer`` + ``DataCollatorForLanguageModeling`` (mlm_probability = mask_prob),
   same model config and init seed, batch size, lr, warmup, weight decay, clipping, bf16 (``bf16=True,
   use_cpu=True``: CPU autocast), ``dataloader_num_workers=0``, no evaluation, no saving,
   ``report_to="none"``, default sampler (``train_sampling_strategy="random"``) and default optimizer;
4. the same Trainer with ``train_sampling_strategy="group_by_length"`` (its own length bucketing:
   the fairest like-for-like comparison with the project's bucketed batches).

Timing: the ``--warmup`` first optimizer steps are excluded; tokens/s = non-pad tokens (attention
mask sum, [CLS]/[SEP] included) of steps warmup+1..steps / wall seconds between the end of step
``warmup`` and the end of step ``steps``. Model FLOP/s = 6 x N x tokens/s, with N = non-embedding
parameters (encoder + MLM head transform + decoder bias) and, second, all parameters (word,
position and type embeddings included; the decoder weight is tied to the word embeddings).
That formula is the same for both loops, so it ignores that Trainer also runs the vocabulary
projection on every position while the project runs it on the ~15% masked ones only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

# --------------------------------------------------------------------------------------------
# child side


class PhaseClock:
    """Seconds spent in collate / forward (loss) / optimizer.step; the rest is backward + clipping + loop."""

    def __init__(self):
        from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

        self.seconds = {"collate": 0.0, "forward": 0.0, "optimizer": 0.0}
        self._opt_start = None
        register_optimizer_step_pre_hook(self._pre)
        register_optimizer_step_post_hook(self._post)

    def _pre(self, *_):
        self._opt_start = time.perf_counter()

    def _post(self, *_):
        if self._opt_start is not None:
            self.seconds["optimizer"] += time.perf_counter() - self._opt_start
            self._opt_start = None

    def wrap(self, phase, fn):
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds[phase] += time.perf_counter() - t0

        return timed


class Window:
    """Marks (time, tokens, positions, phase seconds) at the end of each optimizer step."""

    def __init__(self, clock: PhaseClock):
        self.clock = clock
        self.tokens = 0
        self.positions = 0
        self.marks = {}
        self.losses = {}

    def mark(self, step, loss=None):
        self.marks[step] = (
            time.perf_counter(),
            time.process_time(),
            self.tokens,
            self.positions,
            dict(self.clock.seconds),
        )
        if loss is not None:
            self.losses[step] = loss

    def result(self, warmup: int, steps: int) -> dict:
        t0, c0, k0, p0, s0 = self.marks[warmup]
        t1, c1, k1, p1, s1 = self.marks[steps]
        seconds = t1 - t0
        phases = {k: s1[k] - s0[k] for k in s0}
        phases["backward+clip+rest"] = seconds - sum(phases.values())
        return {
            "seconds": seconds,
            "tokens": k1 - k0,
            "positions": p1 - p0,
            "tokens_per_s": (k1 - k0) / seconds,
            "cpu_seconds": c1 - c0,
            "tokens_per_cpu_s": (k1 - k0) / (c1 - c0),
            "steps_timed": steps - warmup,
            "phases": phases,
        }


def load_data(args):
    from transformers import AutoTokenizer

    from alignxfer import data as D

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    sentences = D.load_sentences(args.tokenized.split(","), args.max_length)
    digest = hashlib.sha256(json.dumps(sentences).encode()).hexdigest()[:16]
    return tokenizer, sentences, digest


def params(model) -> dict:
    full = sum(p.numel() for p in model.parameters())
    emb = model.base_model.embeddings
    embedding = sum(
        p.numel()
        for m in (emb.word_embeddings, emb.position_embeddings, emb.token_type_embeddings)
        for p in m.parameters()
    )
    return {"full": full, "non_embedding": full - embedding}


def watch_dtype(model) -> set:
    """The dtypes the first query projection produces (bf16 under autocast): proof of the precision used."""
    seen: set = set()
    model.base_model.encoder.layer[0].attention.self.query.register_forward_hook(
        lambda m, i, o: seen.add(str(o.dtype).replace("torch.", ""))
    )
    return seen


def child_matmul(args) -> dict:
    import torch
    import transformers  # noqa: F401

    import alignxfer.pretraining  # noqa: F401  (same imports as the other children: the memory floor)

    torch.set_num_threads(args.threads)
    n = 2048
    out = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        for _ in range(2):
            a @ b
        times, cpu = [], []
        t_end = time.perf_counter() + 3.0
        while len(times) < 5 or (time.perf_counter() < t_end and len(times) < 30):
            t0, c0 = time.perf_counter(), time.process_time()
            a @ b
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        times.sort()
        cpu.sort()
        out[name] = {
            "gflops": 2 * n**3 / times[len(times) // 2] / 1e9,
            "best_gflops": 2 * n**3 / times[0] / 1e9,
            "gflops_per_cpu_s": 2 * n**3 / cpu[len(cpu) // 2] / 1e9,
            "reps": len(times),
        }
    return out


def child_project(args) -> dict:
    import torch

    from alignxfer import data as D
    from alignxfer.modeling import build_scratch_model, resolve_bf16
    from alignxfer.objectives import SentenceMLM
    from alignxfer.training.loop import train

    torch.set_num_threads(args.threads)
    cfg = json.loads(args.cfg)
    tokenizer, sentences, digest = load_data(args)
    specials = D.Specials.from_tokenizer(tokenizer)
    torch.manual_seed(args.seed)
    model = build_scratch_model(cfg["architecture"], tokenizer)
    dtypes = watch_dtype(model)
    clock = PhaseClock()
    window = Window(clock)

    class CountingMLM(SentenceMLM):
        def collate(self, examples, generator):
            batch = super().collate(examples, generator)
            window.positions += batch["x"]["input_ids"].numel()
            return batch

        def tokens(self, batch):
            n = super().tokens(batch)
            window.tokens += n
            return n

    objective = CountingMLM({"mask_prob": cfg["training"]["mask_prob"]}, specials, args.max_length)
    objective.collate = clock.wrap("collate", objective.collate)
    objective.loss = clock.wrap("forward", objective.loss)
    tr = cfg["training"]
    profiler = None
    if args.profile:
        profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])

    def callback(step, record):
        window.mark(step, record["loss"])
        if profiler is not None and step == args.warmup:
            profiler.__enter__()

    window.mark(0)
    summary = train(
        model,
        objective,
        sentences,
        steps=args.steps,
        batch_size=tr["batch_size"],
        learning_rate=tr["learning_rate"],
        warmup_ratio=tr.get("warmup_ratio", 0.0),
        weight_decay=tr.get("weight_decay", 0.0),
        gradient_accumulation=int(tr.get("gradient_accumulation", 1)),
        max_grad_norm=tr.get("max_grad_norm", 1.0),
        seed=args.seed,
        bf16=cfg["bf16"],
        device="cpu",
        log_every=1,
        callback=callback,
        label="bench",
    )
    out = window.result(args.warmup, args.steps)
    if profiler is not None:
        profiler.__exit__(None, None, None)
        out["profile"] = profiler.key_averages().table(
            sort_by="self_cpu_time_total", row_limit=18, max_name_column_width=42
        )
    out.update(
        sentences=len(sentences),
        digest=digest,
        params=params(model),
        bf16=bool(summary["bf16"]),
        dtypes=sorted(dtypes),
        threads=torch.get_num_threads(),
        mean_loss=sum(window.losses.values()) / len(window.losses),
        last_loss=window.losses[args.steps],
        bf16_resolved=resolve_bf16(cfg["bf16"], torch.device("cpu")),
    )
    return out


def child_trainer(args, grouped: bool) -> dict:
    import datasets
    import torch
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    from alignxfer.modeling import build_scratch_model, resolve_bf16

    torch.set_num_threads(args.threads)
    cfg = json.loads(args.cfg)
    tr = cfg["training"]
    tokenizer, sentences, digest = load_data(args)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    dataset = datasets.Dataset.from_dict({"input_ids": [[cls, *s, sep] for s in sentences]})
    torch.manual_seed(args.seed)
    model = build_scratch_model(cfg["architecture"], tokenizer)
    dtypes = watch_dtype(model)
    use_bf16 = resolve_bf16(cfg["bf16"], torch.device("cpu"))
    clock = PhaseClock()
    window = Window(clock)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=tr["mask_prob"])
    collate = clock.wrap("collate", collator)

    class Timer(TrainerCallback):
        def on_step_end(self, args_, state, control, **kwargs):
            window.mark(state.global_step)

    class CountingTrainer(Trainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            window.tokens += int(inputs["attention_mask"].sum())
            window.positions += inputs["input_ids"].numel()
            loss = super().training_step(model, inputs, num_items_in_batch)
            window.losses[self.state.global_step + 1] = float(loss)
            return loss

        compute_loss = clock.wrap("forward", Trainer.compute_loss)

    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as out_dir:
        targs = TrainingArguments(
            output_dir=out_dir,
            per_device_train_batch_size=tr["batch_size"],
            max_steps=args.steps,
            learning_rate=tr["learning_rate"],
            lr_scheduler_type="linear",
            warmup_steps=float(tr.get("warmup_ratio", 0.0)),  # a float < 1 is a ratio of the steps
            weight_decay=tr.get("weight_decay", 0.0),
            max_grad_norm=tr.get("max_grad_norm", 1.0),
            gradient_accumulation_steps=int(tr.get("gradient_accumulation", 1)),
            bf16=use_bf16,
            use_cpu=True,
            dataloader_num_workers=0,
            dataloader_drop_last=True,
            train_sampling_strategy="group_by_length" if grouped else "random",
            eval_strategy="no",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=args.seed,
        )
        trainer = CountingTrainer(
            model=model,
            args=targs,
            train_dataset=dataset,
            data_collator=collate,
            processing_class=tokenizer,
            callbacks=[Timer()],
        )
        window.mark(0)
        trainer.train()
    out = window.result(args.warmup, args.steps)
    out.update(
        sentences=len(sentences),
        digest=digest,
        params=params(model),
        bf16=use_bf16,
        dtypes=sorted(dtypes),
        mixed_precision=str(trainer.accelerator.mixed_precision),
        threads=torch.get_num_threads(),
        mean_loss=sum(window.losses.values()) / len(window.losses),
        last_loss=window.losses[args.steps],
        optimizer=targs.optim.value if hasattr(targs.optim, "value") else str(targs.optim),
    )
    return out


def child(args) -> None:
    if args.child == "matmul":
        result = child_matmul(args)
    elif args.child == "project":
        result = child_project(args)
    elif args.child in ("trainer", "trainer_grouped"):
        result = child_trainer(args, grouped=args.child == "trainer_grouped")
    else:
        raise SystemExit(f"unknown child {args.child}")
    result["peak_rss_kib"] = C.peak_rss_kib()
    Path(args.result).write_text(json.dumps(result))


# --------------------------------------------------------------------------------------------
# parent side


def prepare_data(args, cfg, tmp: Path) -> tuple[str, list[str], str]:
    """(tokenizer dir, tokenized dirs, description)."""
    project = Path(args.project)
    tokenized = sorted(project.glob("results/tokenized/en-*"))
    tokenizer = project / "results/tokenizer"
    if tokenized and tokenizer.is_dir():
        names = ", ".join(p.name for p in tokenized)
        return (
            str(tokenizer),
            [str(p) for p in tokenized],
            f"the project's tokenized bitext {project}/results/tokenized/{{{names}}} and {tokenizer}",
        )
    import datasets

    from alignxfer.tokenization import tokenize_pair, train_tokenizer

    datasets.disable_progress_bars()

    corpus = tmp / "corpus.txt"
    stats = C.write_synthetic_corpus(corpus, args.pairs, args.seed)
    t0 = time.perf_counter()
    info = train_tokenizer(
        [corpus], tmp / "tokenizer", vocab_size=cfg["tokenizer"]["vocab_size"], seed=args.seed, threads=args.threads
    )
    tokenize_pair(corpus, tmp / "tokenizer", tmp / "tokenized" / "en-xx", threads=args.threads)
    seconds = time.perf_counter() - t0
    desc = (
        f"{C.describe_synthetic(stats)}; WordPiece tokenizer (vocab {info['vocab_size']}) and tokenized dataset "
        f"built with alignxfer.tokenization in {seconds:.1f} s"
    )
    return str(tmp / "tokenizer"), [str(tmp / "tokenized" / "en-xx")], desc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--project",
        default=str(C.REPO),
        help="folder with results/tokenizer and results/tokenized/en-* (else synthetic data)",
    )
    parser.add_argument("--config", default=str(C.REPO / "config.yaml"))
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=5, help="first steps excluded from timing")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads of every run (default: the config's threads)"
    )
    parser.add_argument("--pairs", type=int, default=12000, help="synthetic corpus size when no tokenized data exists")
    parser.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    parser.add_argument("--no-grouped", action="store_true", help="skip the group_by_length Trainer run")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the project's loop (torch.profiler) in an extra run"
    )
    # internal: child mode
    for name in ("--child", "--result", "--cfg", "--tokenizer", "--tokenized"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--max-length", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    if not 1 <= args.warmup < args.steps:
        parser.error("need 1 <= --warmup < --steps")
    if not C.find_accelerate():
        deps = C.DEPS
        sys.exit(
            f"transformers.Trainer needs accelerate, which is not installed. Install it without touching the "
            f"project's environment:\n  {C.PYTHON} -m pip install --no-deps --target {deps} 'accelerate>=1.10.1'\n"
            f"then rerun (the benchmark finds that folder by itself)"
        )

    from alignxfer.config import load_config

    cfg_all = load_config(args.config)
    threads = args.threads or int(cfg_all.get("threads") or 1)
    args.threads = threads
    args.seed = cfg_all["seed"] if args.seed is None else args.seed
    training = dict(cfg_all["base"]["training"])
    cfg = {
        "architecture": cfg_all["base"]["architecture"],
        "training": training,
        "bf16": cfg_all["pretraining"]["bf16"],
    }
    max_length = int(training["max_length"])

    C.header(
        "pre-training throughput: alignxfer.training.loop.train vs transformers.Trainer (same model, data, hyperparameters)"
    )
    import torch
    import transformers

    with tempfile.TemporaryDirectory(prefix="bench-pretrain-") as tmp:
        tmp = Path(tmp)
        tokenizer_dir, tokenized_dirs, data_desc = prepare_data(args, cfg_all, tmp)
        print(f"# data: {data_desc}")
        print(
            f"# model: BertForMaskedLM {cfg['architecture']}; batch {training['batch_size']}, max_length {max_length}, "
            f"lr {training['learning_rate']}, warmup_ratio {training.get('warmup_ratio')}, weight_decay {training.get('weight_decay')}, "
            f"mask_prob {training['mask_prob']}, bf16 {cfg['bf16']!r} -> "
            f"{torch.cpu._is_avx512_bf16_supported() and 'native AVX-512 BF16: autocast on' or 'no native bf16: fp32'}"
        )
        print(
            f"# {args.steps} steps per run, first {args.warmup} excluded from timing; torch {torch.__version__}, "
            f"transformers {transformers.__version__}, {threads} torch thread(s) per run (OMP_NUM_THREADS={threads})"
        )
        if C.DEPS_USED:
            print(f"# accelerate (needed by Trainer, no project dependency) imported from {C.DEPS}")
        print("# peak RSS = each child's own VmHWM at its end (interpreter, imports and data included)")
        sys.stdout.flush()

        common = [
            "--cfg",
            json.dumps(cfg),
            "--tokenizer",
            tokenizer_dir,
            "--tokenized",
            ",".join(tokenized_dirs),
            "--max-length",
            str(max_length),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--threads",
            str(threads),
            "--seed",
            str(args.seed),
        ]
        runs = ["matmul", "project", "trainer"] + ([] if args.no_grouped else ["trainer_grouped"])
        results = {}
        for name in runs:
            res_path = tmp / f"{name}.json"
            proc = C.run_child(
                [__file__, "--child", name, "--result", str(res_path), *common],
                env_extra={"OMP_NUM_THREADS": threads},
                log_path=tmp / f"{name}.log",
            )
            results[name] = json.loads(res_path.read_text())
            results[name]["proc"] = proc
            print(f"#   {name}: done in {proc['wall_s']:.1f} s (load {C.load_average()})", flush=True)
        profile = None
        if args.profile:
            res_path = tmp / "profile.json"
            C.run_child(
                [__file__, "--child", "project", "--result", str(res_path), "--profile", *common],
                env_extra={"OMP_NUM_THREADS": threads},
                log_path=tmp / "profile.log",
            )
            profile = json.loads(res_path.read_text())

    mm = results["matmul"]
    print(
        f"\n2048x2048 matmul, {threads} thread(s), median of {mm['bf16']['reps']} / {mm['fp32']['reps']} reps (best in brackets): "
        f"bf16 {mm['bf16']['gflops']:.0f} ({mm['bf16']['best_gflops']:.0f}) GFLOP/s, fp32 {mm['fp32']['gflops']:.0f} "
        f"({mm['fp32']['best_gflops']:.0f}) GFLOP/s; per CPU-second: bf16 {mm['bf16']['gflops_per_cpu_s']:.0f}, "
        f"fp32 {mm['fp32']['gflops_per_cpu_s']:.0f}"
    )
    print(
        f"peak RSS of the matmul child (torch + transformers + alignxfer imported, no data: the floor): {C.mib(mm['peak_rss_kib'])}"
    )
    digests = {results[n]["digest"] for n in runs if n != "matmul"}
    p = results["project"]["params"]
    print(
        f"same sentences in every run: {'yes' if len(digests) == 1 else 'NO'} ({results['project']['sentences']} sentences, sha {results['project']['digest']}); "
        f"parameters: {p['full']:,} all, {p['non_embedding']:,} non-embedding"
    )

    labels = {
        "project": "alignxfer loop",
        "trainer": "HF Trainer (random sampler)",
        "trainer_grouped": "HF Trainer (group_by_length)",
    }
    rows = []
    for name in runs[1:]:
        r = results[name]
        rows.append(
            [
                labels[name],
                f"{r['tokens_per_s']:,.0f}",
                f"{r['tokens_per_cpu_s']:,.0f}",
                f"{r['seconds'] / r['steps_timed']:.3f}",
                f"{r['tokens'] / r['positions']:.0%}",
                C.mib(r["peak_rss_kib"]),
                f"{r['mean_loss']:.3f}",
                "/".join(r["dtypes"]),
            ]
        )
    print()
    print(
        C.table(
            rows,
            [
                "loop",
                "tokens/s (non-pad)",
                "tokens/CPU-s",
                "s/step",
                "non-pad share",
                "peak RSS",
                "mean loss",
                "linear out dtype",
            ],
        )
    )
    print(
        "'non-pad share' = non-pad tokens / padded positions fed to the encoder; mean loss = mean MLM loss of all steps; "
        "'linear out dtype' = what layer 0's query projection produced (bfloat16: autocast was on)"
    )

    rows = []
    for name in runs[1:]:
        r = results[name]
        for kind, n_params in (("non-emb", p["non_embedding"]), ("all", p["full"])):
            wall, cpu = 6 * n_params * r["tokens_per_s"], 6 * n_params * r["tokens_per_cpu_s"]
            rows.append(
                [
                    labels[name] if kind == "non-emb" else "",
                    f"{kind} {n_params / 1e6:.2f}M",
                    f"{wall / 1e9:.1f}",
                    f"{wall / (mm['bf16']['gflops'] * 1e9):.1%}",
                    f"{wall / (mm['fp32']['gflops'] * 1e9):.1%}",
                    f"{cpu / 1e9:.1f}",
                    f"{cpu / (mm['bf16']['gflops_per_cpu_s'] * 1e9):.1%}",
                    f"{cpu / (mm['fp32']['gflops_per_cpu_s'] * 1e9):.1%}",
                ]
            )
    print()
    print(
        C.table(
            rows,
            ["loop", "N", "GFLOP/s", "of bf16 mm", "of fp32 mm", "GFLOP/CPU-s", "of bf16 mm/CPU-s", "of fp32 mm/CPU-s"],
        )
    )
    print(
        "model FLOP/s = 6 x N x tokens/s, N = non-embedding or all parameters; 'mm' = the 2048x2048 matmul above "
        "(wall: median GFLOP/s; CPU: GFLOP per CPU-second)"
    )

    ours, ours_cpu = results["project"]["tokens_per_s"], results["project"]["tokens_per_cpu_s"]
    for name in runs[2:]:
        ratio = ours / results[name]["tokens_per_s"]
        ratio_cpu = ours_cpu / results[name]["tokens_per_cpu_s"]
        print(
            f"ratio alignxfer / {labels[name]}: {ratio:.2f}x in tokens/s, {ratio_cpu:.2f}x in tokens per CPU-second "
            f"(goal >= 2x: {'met' if min(ratio, ratio_cpu) >= 2 else 'NOT met'})"
        )
    print(
        "(tokens per CPU-second = non-pad tokens / process CPU time of the timed steps: with one thread it is "
        "less sensitive than wall time to other processes sharing the cores)"
    )
    print("\nwhere the timed steps go (seconds per step):")
    phase_rows = []
    for name in runs[1:]:
        ph = results[name]["phases"]
        steps = results[name]["steps_timed"]
        phase_rows.append(
            [labels[name]] + [f"{ph[k] / steps:.3f}" for k in ("collate", "forward", "backward+clip+rest", "optimizer")]
        )
    print(C.table(phase_rows, ["loop", "collate+mask", "forward+loss", "backward+clip+rest", "optimizer.step"]))
    if "optimizer" in results.get("trainer", {}):
        print(
            f"Trainer: optimizer {results['trainer']['optimizer']}, accelerate mixed_precision {results['trainer']['mixed_precision']}; "
            f"alignxfer: torch.optim.AdamW (default foreach), torch.autocast(cpu, bfloat16)"
        )
    if profile is not None:
        print(
            f"\ntorch.profiler, alignxfer loop, steps {args.warmup + 1}..{args.steps} (ops by self CPU time; "
            f"profiling overhead included: {profile['tokens_per_s']:,.0f} tokens/s under the profiler):"
        )
        print(profile["profile"])
    print(f"# load average at end: {C.load_average()}")


if __name__ == "__main__":
    main()
