"""Alignment throughput: FastAlign forward + reverse + grow-diag-final-and symmetrization.

    PYTHONPATH=. python benchmarks/bench_align.py [CORPUS] [--project DIR] [--pairs 12000]

CORPUS is an aligner input file (``en words ||| xx words`` a line). Without it: the project's
``results/align/en-de/corpus.txt`` (``--project``, default this checkout) if it exists, else a
synthetic corpus of ``--pairs`` pairs (see ``benchmarks/_common.py``; the output says which).
Aligner options come from ``--config`` (default ``config.yaml``), as the ``align`` rule passes them.

Stages, each in a fresh child process, as the workflow runs them (one job each, OMP_NUM_THREADS=1
set before the interpreter starts): forward, reverse (``alignxfer.alignment.align``),
symmetrization (``alignxfer.alignment.symmetrize_files`` with the corpus). For each: the
process's wall time (interpreter start + imports + work), the seconds inside the call, pairs/s,
and the process's own peak RSS (its ``VmHWM`` at exit, see ``_common.py``). Baselines in the same run:
an import-only child (memory and start-up floor); forward and reverse as two concurrent
one-thread processes (what ``snakemake --cores 2`` does); both directions in ONE process with
OMP_NUM_THREADS=2 (speed ratio to one thread, and how many lines match the one-thread output).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


# --------------------------------------------------------------------------------------------
# child side


def child(args) -> None:
    started = time.perf_counter()
    from alignxfer.alignment import align, symmetrize_files

    imported = time.perf_counter()
    result = {"import_s": imported - started, "stages": []}
    options = json.loads(args.options)
    for stage in args.child.split(","):
        t0 = time.perf_counter()
        if stage == "import":
            import thot.alignment  # noqa: F401  (align() imports it lazily)
            import thot.common  # noqa: F401

            stats = {}
        elif stage in ("forward", "reverse"):
            stats = align(args.corpus, Path(args.out) / f"{stage}.txt", reverse=stage == "reverse", options=options)
        elif stage == "symmetrize":
            stats = symmetrize_files(
                Path(args.out) / "forward.txt", Path(args.out) / "reverse.txt", Path(args.out) / "symmetrized.txt",
                args.heuristic, corpus_path=args.corpus,
            )
        else:
            raise SystemExit(f"unknown stage {stage}")
        result["stages"].append({"stage": stage, "call_s": time.perf_counter() - t0, "stats": stats})
    result["peak_rss_kib"] = C.peak_rss_kib()
    Path(args.result).write_text(json.dumps(result))


def spawn(stage: str, corpus: Path, out: Path, options: dict, heuristic: str, threads: int, result: Path):
    """Start a child (not waited for); returns (Popen, start time)."""
    import subprocess

    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [C.PYTHON, __file__, "--child", stage, str(corpus), "--out", str(out),
           "--options", json.dumps(options), "--heuristic", heuristic, "--result", str(result)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL), time.perf_counter()


def reap(proc, start) -> dict:
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"child {proc.args} failed with exit code {proc.returncode}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def run_stage(stage, corpus, out, options, heuristic, threads, tmp) -> dict:
    result = tmp / f"{stage.replace(',', '+')}-{threads}.json"
    info = reap(*spawn(stage, corpus, out, options, heuristic, threads, result))
    info.update(json.loads(result.read_text()))
    return info


def agreement(a: Path, b: Path) -> float:
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    return sum(x == y for x, y in zip(la, lb)) / max(len(la), 1)


# --------------------------------------------------------------------------------------------
# parent side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", help="aligner input file (en words ||| xx words)")
    parser.add_argument("--project", default=str(C.REPO), help="project folder whose results/align/en-de/corpus.txt is the default corpus")
    parser.add_argument("--pairs", type=int, default=12000, help="synthetic corpus size (default: the default study's max_pretrain_pairs)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--config", default=str(C.REPO / "config.yaml"), help="config whose alignment section gives the options")
    parser.add_argument("--skip-baselines", action="store_true", help="only the three one-thread stages")
    # internal: child mode
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    parser.add_argument("--heuristic", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    C.header("alignment throughput: FastAlign (sil-thot) forward + reverse + symmetrization")
    from alignxfer.alignment import aligner_options, read_corpus
    from alignxfer.config import load_config

    cfg = load_config(args.config)["alignment"]
    options = aligner_options(cfg)  # as rules/align.smk
    heuristic = cfg["symmetrization"]

    with tempfile.TemporaryDirectory(prefix="bench-align-") as tmp:
        tmp = Path(tmp)
        if args.corpus:
            corpus, source = Path(args.corpus), f"given corpus {args.corpus}"
        elif (Path(args.project) / "results/align/en-de/corpus.txt").exists():
            corpus = Path(args.project) / "results/align/en-de/corpus.txt"
            source = f"the default study's corpus {corpus}"
        else:
            corpus = tmp / "corpus.txt"
            source = C.describe_synthetic(C.write_synthetic_corpus(corpus, args.pairs, args.seed))
        src, tgt = read_corpus(corpus)
        n = len(src)
        en_words, xx_words = sum(map(len, src)), sum(map(len, tgt))
        del src, tgt
        print(f"# corpus: {source}")
        print(f"# {n} pairs, {en_words / n:.1f} en + {xx_words / n:.1f} xx words a pair on average; "
              f"options {options}, symmetrization {heuristic}")
        print("# peak RSS = each child's own VmHWM at its end (interpreter and imports included)")
        sys.stdout.flush()

        one = tmp / "t1"
        one.mkdir()
        base = run_stage("import", corpus, one, options, heuristic, 1, tmp)
        stages = {s: run_stage(s, corpus, one, options, heuristic, 1, tmp) for s in ("forward", "reverse", "symmetrize")}

        rows = []
        rows.append(["import only (floor)", f"{base['wall_s']:.2f}", f"{base['cpu_s']:.2f}", "-", "-", "-", C.mib(base["peak_rss_kib"])])
        for name, info in stages.items():
            call = info["stages"][0]["call_s"]
            rows.append([f"{name} (1 thread)", f"{info['wall_s']:.2f}", f"{info['cpu_s']:.2f}", f"{call:.2f}", f"{n / call:,.0f}",
                         f"{n / info['cpu_s']:,.0f}", C.mib(info["peak_rss_kib"])])
        total_wall = sum(i["wall_s"] for i in stages.values())
        total_call = sum(i["stages"][0]["call_s"] for i in stages.values())
        peak = max(i["peak_rss_kib"] for i in stages.values())
        total_cpu = sum(i["cpu_s"] for i in stages.values())
        rows.append(["TOTAL fwd+rev+sym, sequential", f"{total_wall:.2f}", f"{total_cpu:.2f}", f"{total_call:.2f}", f"{n / total_call:,.0f}", f"{n / total_cpu:,.0f}", C.mib(peak) + " (max)"])
        print()
        print(C.table(rows, ["stage", "process wall s", "process CPU s", "in-call s", "pairs/s (in-call)", "pairs/CPU-s (process)", "peak RSS"]))
        print("pairs/CPU-s = pairs / the process's user+sys CPU seconds (imports included): less sensitive than wall time "
              "to other processes sharing the cores")
        print(f"\nend-to-end (process wall, imports included): {n / total_wall:,.0f} pairs/s for forward + reverse + symmetrization")
        sys.stdout.flush()

        if not args.skip_baselines:
            # both directions at once, one thread each (snakemake --cores 2 runs the two align jobs together)
            par = tmp / "par"
            par.mkdir()
            t0 = time.perf_counter()
            procs = [spawn(s, corpus, par, options, heuristic, 1, tmp / f"par-{s}.json") for s in ("forward", "reverse")]
            par_info = [reap(*p) for p in procs]
            par_info = [dict(i, **json.loads((tmp / f"par-{s}.json").read_text())) for i, s in zip(par_info, ("forward", "reverse"))]
            par_wall = time.perf_counter() - t0
            # both directions in one process, two OpenMP threads
            two = tmp / "t2"
            two.mkdir()
            t2 = run_stage("forward,reverse", corpus, two, options, heuristic, 2, tmp)
            t2_call = sum(s["call_s"] for s in t2["stages"])
            t1_call = sum(stages[s]["stages"][0]["call_s"] for s in ("forward", "reverse"))
            rows = [
                ["1 thread, fwd then rev (2 processes, sequential)", f"{t1_call:.2f}", f"{n / t1_call:,.0f}", "1.00", "reference"],
                ["1 thread each, fwd and rev concurrently (2 processes)", f"{par_wall:.2f} (wall)", f"{n / par_wall:,.0f}",
                 f"{t1_call / par_wall:.2f}", C.mib(max(i["peak_rss_kib"] for i in par_info)) + " (max)"],
                ["OMP_NUM_THREADS=2, fwd then rev in ONE process", f"{t2_call:.2f}", f"{n / t2_call:,.0f}",
                 f"{t1_call / t2_call:.2f}", C.mib(t2["peak_rss_kib"])],
            ]
            print("\nbaselines (forward + reverse only, no symmetrization; seconds inside align() unless marked wall):")
            print(C.table(rows, ["configuration", "seconds", "pairs/s", "speed-up vs 1 thread", "peak RSS"]))
            same_f = agreement(one / "forward.txt", two / "forward.txt")
            same_r = agreement(one / "reverse.txt", two / "reverse.txt")
            det_f = agreement(one / "forward.txt", par / "forward.txt")
            print(f"\nlines identical to the 1-thread output: 2 threads forward {same_f:.2%}, reverse {same_r:.2%}; "
                  f"1-thread rerun forward {det_f:.2%}")
        print(f"# load average at end: {C.load_average()}")


if __name__ == "__main__":
    main()
