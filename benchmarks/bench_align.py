"""Alignment throughput: FastAlign forward + reverse + grow-diag-final-and symmetrization.

    PYTHONPATH=. python benchmarks/bench_align.py [CORPUS] [--project DIR] [--pairs 12000]
        [--fast-align-bin PATH | --fast-align-src DIR]

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

Against the C++ original (not a dependency of the workflow): ``--fast-align-bin`` names a built
``fast_align`` (``atools`` beside it, or ``--atools-bin``); ``--fast-align-src`` a checkout of its
public source (github.com/clab/fast_align), which the benchmark builds with cmake + make in a
temporary folder. It runs ``fast_align -i CORPUS -d -o -v [-r] -I iterations+1 -q p0`` (one
OpenMP thread, as the align jobs) and ``atools -c HEURISTIC``, and reports each stage's wall time
and peak RSS beside the project's, the ratio, and the share of lines with identical links.
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
                Path(args.out) / "forward.txt",
                Path(args.out) / "reverse.txt",
                Path(args.out) / "symmetrized.txt",
                args.heuristic,
                corpus_path=args.corpus,
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
    cmd = [
        C.PYTHON,
        __file__,
        "--child",
        stage,
        str(corpus),
        "--out",
        str(out),
        "--options",
        json.dumps(options),
        "--heuristic",
        heuristic,
        "--result",
        str(result),
    ]
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


def build_fast_align(src: Path, into: Path) -> Path:
    """cmake + make the C++ fast_align in ``into``; returns the fast_align binary."""
    import subprocess

    into.mkdir(parents=True, exist_ok=True)
    for cmd in (["cmake", str(Path(src).resolve()), "-DCMAKE_BUILD_TYPE=Release"], ["make", "fast_align", "atools"]):
        done = subprocess.run(cmd, cwd=into, capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(f"building fast_align failed: {' '.join(cmd)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return into / "fast_align"


def run_cpp(cmd: list[str], stdout: Path) -> dict:
    """Run one C++ tool with its stdout to a file; wall time, CPU time, peak RSS (KiB)."""
    import subprocess

    env = dict(os.environ, OMP_NUM_THREADS="1")
    # peak RSS: the child's own VmHWM, polled (ru_maxrss of a forked child counts the parent's pages)
    hwm = 0
    with open(stdout, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        while True:
            try:
                with open(f"/proc/{proc.pid}/status") as status_file:
                    for line in status_file:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_kib": hwm}


def compare_cpp(
    fast_align: Path, atools: Path, corpus: Path, options: dict, heuristic: str, ours: Path, stages: dict, out: Path
) -> None:
    """Run the C++ original on ``corpus`` and compare with the project's outputs in ``ours``."""
    if options.get("favor_diagonal", True) is False:
        sys.exit("--fast-align-bin compares the favor_diagonal aligner (-d); this config sets favor_diagonal: false")
    out.mkdir(exist_ok=True)
    base = [
        str(fast_align),
        "-i",
        str(corpus),
        "-d",
        "-o",
        "-I",
        str(int(options.get("iterations", 4)) + 1),
        "-q",
        str(options.get("p0", 0.08)),
    ] + (["-v"] if options.get("variational_bayes", True) else [])
    cpp = {
        "forward": run_cpp(base, out / "forward.txt"),
        "reverse": run_cpp(base + ["-r"], out / "reverse.txt"),
    }
    cpp["symmetrize"] = run_cpp(
        [str(atools), "-i", str(out / "forward.txt"), "-j", str(out / "reverse.txt"), "-c", heuristic],
        out / "symmetrized.txt",
    )
    rows = []
    for name in ("forward", "reverse", "symmetrize"):
        file = "symmetrized.txt" if name == "symmetrize" else f"{name}.txt"
        mine, theirs = stages[name], cpp[name]
        rows.append(
            [
                name,
                f"{theirs['wall_s']:.2f}",
                f"{mine['wall_s']:.2f}",
                f"{mine['stages'][0]['call_s']:.2f}",
                f"{mine['wall_s'] / theirs['wall_s']:.2f}",
                f"{theirs['cpu_s']:.2f}",
                f"{mine['cpu_s']:.2f}",
                f"{mine['cpu_s'] / max(theirs['cpu_s'], 1e-3):.2f}",
                C.mib(theirs["peak_rss_kib"]),
                C.mib(mine["peak_rss_kib"]),
                f"{agreement(ours / file, out / file):.3%}",
            ]
        )
    t_cpp = sum(c["wall_s"] for c in cpp.values())
    t_ours = sum(s["wall_s"] for s in stages.values())
    t_call = sum(s["stages"][0]["call_s"] for s in stages.values())
    c_cpp = sum(c["cpu_s"] for c in cpp.values())
    c_ours = sum(s["cpu_s"] for s in stages.values())
    rows.append(
        [
            "TOTAL",
            f"{t_cpp:.2f}",
            f"{t_ours:.2f}",
            f"{t_call:.2f}",
            f"{t_ours / t_cpp:.2f}",
            f"{c_cpp:.2f}",
            f"{c_ours:.2f}",
            f"{c_ours / c_cpp:.2f}",
            "",
            "",
            "",
        ]
    )
    print(
        f"\nC++ original ({fast_align}; {' '.join(base[1:])} [-r]; atools -c {heuristic}), one thread, "
        "against this project (process wall and CPU include the interpreter and imports):"
    )
    print(
        C.table(
            rows,
            [
                "stage",
                "C++ wall s",
                "project wall s",
                "project in-call s",
                "wall ratio (project / C++)",
                "C++ CPU s",
                "project CPU s",
                "CPU ratio",
                "C++ peak RSS",
                "project peak RSS",
                "identical lines",
            ],
        )
    )
    print(
        f"ratio of the project's in-call time to C++ wall, all stages: {t_call / t_cpp:.2f}; "
        "CPU seconds are the steadier measure when other processes share the cores"
    )
    sys.stdout.flush()


def agreement(a: Path, b: Path) -> float:
    """Share of lines with the same set of links (fast_align does not sort a line's links)."""
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    if len(la) != len(lb):
        sys.exit(f"{a} has {len(la)} lines but {b} has {len(lb)}")
    return sum(set(x.split()) == set(y.split()) for x, y in zip(la, lb)) / max(len(la), 1)


# --------------------------------------------------------------------------------------------
# parent side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", help="aligner input file (en words ||| xx words)")
    parser.add_argument(
        "--project",
        default=str(C.REPO),
        help="project folder whose results/align/en-de/corpus.txt is the default corpus",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=12000,
        help="synthetic corpus size (default: the default study's max_pretrain_pairs)",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--config", default=str(C.REPO / "config.yaml"), help="config whose alignment section gives the options"
    )
    parser.add_argument("--skip-baselines", action="store_true", help="only the three one-thread stages")
    parser.add_argument("--fast-align-bin", help="a built C++ fast_align to compare with (atools beside it)")
    parser.add_argument("--atools-bin", help="the C++ atools (default: beside --fast-align-bin)")
    parser.add_argument(
        "--fast-align-src",
        help="a checkout of github.com/clab/fast_align: built in a temporary folder and compared with",
    )
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
        print(
            f"# {n} pairs, {en_words / n:.1f} en + {xx_words / n:.1f} xx words a pair on average; "
            f"options {options}, symmetrization {heuristic}"
        )
        print("# peak RSS = each child's own VmHWM at its end (interpreter and imports included)")
        sys.stdout.flush()

        one = tmp / "t1"
        one.mkdir()
        base = run_stage("import", corpus, one, options, heuristic, 1, tmp)
        stages = {
            s: run_stage(s, corpus, one, options, heuristic, 1, tmp) for s in ("forward", "reverse", "symmetrize")
        }

        rows = []
        rows.append(
            [
                "import only (floor)",
                f"{base['wall_s']:.2f}",
                f"{base['cpu_s']:.2f}",
                "-",
                "-",
                "-",
                C.mib(base["peak_rss_kib"]),
            ]
        )
        for name, info in stages.items():
            call = info["stages"][0]["call_s"]
            rows.append(
                [
                    f"{name} (1 thread)",
                    f"{info['wall_s']:.2f}",
                    f"{info['cpu_s']:.2f}",
                    f"{call:.2f}",
                    f"{n / call:,.0f}",
                    f"{n / info['cpu_s']:,.0f}",
                    C.mib(info["peak_rss_kib"]),
                ]
            )
        total_wall = sum(i["wall_s"] for i in stages.values())
        total_call = sum(i["stages"][0]["call_s"] for i in stages.values())
        peak = max(i["peak_rss_kib"] for i in stages.values())
        total_cpu = sum(i["cpu_s"] for i in stages.values())
        rows.append(
            [
                "TOTAL fwd+rev+sym, sequential",
                f"{total_wall:.2f}",
                f"{total_cpu:.2f}",
                f"{total_call:.2f}",
                f"{n / total_call:,.0f}",
                f"{n / total_cpu:,.0f}",
                C.mib(peak) + " (max)",
            ]
        )
        print()
        print(
            C.table(
                rows,
                [
                    "stage",
                    "process wall s",
                    "process CPU s",
                    "in-call s",
                    "pairs/s (in-call)",
                    "pairs/CPU-s (process)",
                    "peak RSS",
                ],
            )
        )
        print(
            "pairs/CPU-s = pairs / the process's user+sys CPU seconds (imports included): less sensitive than wall time "
            "to other processes sharing the cores"
        )
        print(
            f"\nend-to-end (process wall, imports included): {n / total_wall:,.0f} pairs/s for forward + reverse + symmetrization"
        )
        sys.stdout.flush()

        fast_align = Path(args.fast_align_bin) if args.fast_align_bin else None
        if args.fast_align_src:
            t0 = time.perf_counter()
            fast_align = build_fast_align(Path(args.fast_align_src), tmp / "fast_align-build")
            print(f"\n# built the C++ fast_align from {args.fast_align_src} in {time.perf_counter() - t0:.0f} s")
        if fast_align:
            atools = Path(args.atools_bin) if args.atools_bin else fast_align.parent / "atools"
            compare_cpp(fast_align, atools, corpus, options, heuristic, one, stages, tmp / "cpp")

        if not args.skip_baselines:
            # both directions at once, one thread each (snakemake --cores 2 runs the two align jobs together)
            par = tmp / "par"
            par.mkdir()
            t0 = time.perf_counter()
            procs = [
                spawn(s, corpus, par, options, heuristic, 1, tmp / f"par-{s}.json") for s in ("forward", "reverse")
            ]
            par_info = [reap(*p) for p in procs]
            par_info = [
                dict(i, **json.loads((tmp / f"par-{s}.json").read_text()))
                for i, s in zip(par_info, ("forward", "reverse"))
            ]
            par_wall = time.perf_counter() - t0
            # both directions in one process, two OpenMP threads
            two = tmp / "t2"
            two.mkdir()
            t2 = run_stage("forward,reverse", corpus, two, options, heuristic, 2, tmp)
            t2_call = sum(s["call_s"] for s in t2["stages"])
            t1_call = sum(stages[s]["stages"][0]["call_s"] for s in ("forward", "reverse"))
            rows = [
                [
                    "1 thread, fwd then rev (2 processes, sequential)",
                    f"{t1_call:.2f}",
                    f"{n / t1_call:,.0f}",
                    "1.00",
                    "reference",
                ],
                [
                    "1 thread each, fwd and rev concurrently (2 processes)",
                    f"{par_wall:.2f} (wall)",
                    f"{n / par_wall:,.0f}",
                    f"{t1_call / par_wall:.2f}",
                    C.mib(max(i["peak_rss_kib"] for i in par_info)) + " (max)",
                ],
                [
                    "OMP_NUM_THREADS=2, fwd then rev in ONE process",
                    f"{t2_call:.2f}",
                    f"{n / t2_call:,.0f}",
                    f"{t1_call / t2_call:.2f}",
                    C.mib(t2["peak_rss_kib"]),
                ],
            ]
            print("\nbaselines (forward + reverse only, no symmetrization; seconds inside align() unless marked wall):")
            print(C.table(rows, ["configuration", "seconds", "pairs/s", "speed-up vs 1 thread", "peak RSS"]))
            same_f = agreement(one / "forward.txt", two / "forward.txt")
            same_r = agreement(one / "reverse.txt", two / "reverse.txt")
            det_f = agreement(one / "forward.txt", par / "forward.txt")
            print(
                f"\nlines identical to the 1-thread output: 2 threads forward {same_f:.2%}, reverse {same_r:.2%}; "
                f"1-thread rerun forward {det_f:.2%}"
            )
        print(f"# load average at end: {C.load_average()}")


if __name__ == "__main__":
    main()
