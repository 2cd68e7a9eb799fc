# Binds rule environment to alignxfer.environment.collect: results/environment.json and MLflow.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.environment import collect, environment_tags
    from alignxfer.io import write_json

    record = collect(Path(snakemake.scriptdir).parent)
    write_json(ctx.output[0], record)
    lock = record["lock"]
    ctx.tracker.set_tags(
        {
            **environment_tags(),
            "env.lock_sha256": lock.get("sha256", "none"),
            "env.lock_matches": str(lock.get("matches")).lower(),
        }
    )
    ctx.tracker.log_artifact(ctx.output[0])
    cpu = record["cpu"]
    print(
        f"[environment] {record['python']} on {cpu['model']}: AVX2 {cpu['flags']['avx2']}, AVX-512 BF16 "
        f"{cpu['flags']['avx512_bf16']}, AMX {cpu['flags']['amx_bf16']}; torch {record.get('torch', {}).get('version')}; "
        f"lock {'matches' if lock.get('matches') else 'DIFFERS: ' + '; '.join(lock.get('differences', [])[:5])}",
        flush=True,
    )
