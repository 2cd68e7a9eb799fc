# Binds rule prepare_matched: the English originals of one language's translate-train documents.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"task": "topic", "setting": "zero_shot_matched"}) as ctx:
    from alignxfer.matched import matched_english

    for part in ("train", "dev"):
        counts = matched_english(
            getattr(ctx.input, f"english_{part}"), getattr(ctx.input, part), getattr(ctx.output, part)
        )
        print(f"[prepare_matched] {snakemake.wildcards.lang} {part}: {counts['docs']} English documents", flush=True)
