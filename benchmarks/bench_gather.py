"""What the paired hierarchical bootstrap costs `gather` (issue #12): run the gather step's tables and
claims on a finished study's metric files three times in one process, with the minimum number of
bootstrap replicates (100), the configured number (``stats.bootstrap_samples``, 2000 by
default) and 100 again, and print the times and the difference (the faster of the two B = 100 runs).

    PYTHONPATH=. python benchmarks/bench_gather.py [PROJECT]     # PROJECT: a folder with results/

Outputs go to a temporary folder; the project's own tables are not touched. The inputs are the
ones rule ``gather`` reads (``rules/common.smk``): every topic metric file, every retrieval metric
file, the model-free baselines, the pre-training histories and held-out checks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def inputs(project: Path) -> dict:
    metrics_root = project / "results" / "metrics"
    topic = sorted(p for p in (metrics_root / "topic").glob("*/*/*/seed*.json") if p.parts[-4] != "baselines")
    retrieval = sorted(p for p in (metrics_root / "retrieval").glob("*/*.json") if p.parts[-2] != "baselines")
    baselines = sorted((metrics_root / "topic" / "baselines").glob("*/*.json"))
    models = project / "results" / "models"
    histories = {}
    for obj_dir in sorted(p for p in models.iterdir() if p.is_dir()):
        direct = obj_dir / "history.jsonl"
        seeded = sorted(obj_dir.glob("p*/history.jsonl"))
        if direct.exists() or seeded:
            histories[obj_dir.name] = str(direct if direct.exists() else seeded[0])
    heldout = sorted(map(str, models.glob("*/heldout.json"))) + sorted(map(str, models.glob("*/p*/heldout.json")))
    return {
        "metrics": [str(p) for p in topic + retrieval],
        "baselines": [str(p) for p in baselines],
        "histories": histories,
        "heldout": heldout,
    }


def run_gather(files: dict, config: dict, n_boot: int, out: Path) -> float:
    from alignxfer.claims import write_claims
    from alignxfer.config import describe_base
    from alignxfer.results import gather
    from alignxfer.treatment import not_learned, write_treatment_table

    stats = {**config["stats"], "bootstrap_samples": n_boot}
    claims_config = {
        "learning_rate": config["finetuning"]["learning_rate"],
        "batch_size": config["finetuning"]["batch_size"],
        "max_length": config["finetuning"]["max_length"],
        "weam_mask_prob": config["pretraining"]["weam"]["mask_prob"],
        "weam_lambda": config["pretraining"]["weam"]["lambda"],
        "seeds": config["finetuning"]["seeds"],
        "base": describe_base(config),
        "stats": stats,
    }
    start = time.perf_counter()
    result = gather(
        files["metrics"],
        out / "tables",
        baseline="base",
        control="mlm",
        history_files=files["histories"],
        plots_dir=out / "plots",
        baseline_files=files["baselines"],
        n_boot=n_boot,
        boot_seed=stats["bootstrap_seed"],
        html_dir=out / "report",
    )
    checks = write_treatment_table(files["heldout"], out / "tables" / "treatment.md")
    claims_config["not_learned"] = not_learned(checks) if checks else None
    write_claims(result, claims_config, out / "tables" / "claims.md")
    return time.perf_counter() - start


def main() -> None:
    from alignxfer.config import load_config

    project = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    config = load_config(project / "config.yaml")
    files = inputs(project)
    n_full = int(config["stats"]["bootstrap_samples"])
    print(f"# {project}: {len(files['metrics'])} metric files, {len(files['baselines'])} baseline files")
    times: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        # 100, full, 100: the first run also pays imports and a cold file cache
        for i, n_boot in enumerate((100, n_full, 100)):
            took = run_gather(files, config, n_boot, Path(tmp) / f"{i}-{n_boot}")
            times[n_boot] = min(times.get(n_boot, took), took)
            print(f"gather tables + claims, B = {n_boot}: {took:.1f} s", flush=True)
    print(
        f"the bootstrap's {n_full - 100} extra replicates cost {times[n_full] - times[100]:.1f} s "
        f"(B = {n_full}: {times[n_full]:.1f} s, B = 100: {times[100]:.1f} s, ratio {times[n_full] / times[100]:.2f})"
    )


if __name__ == "__main__":
    main()
