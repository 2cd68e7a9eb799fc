# Binds rule prepare_delex: de-lexicalised copies of the non-English topic test sets.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"task": "topic", "setting": "zero_shot_delex"}) as ctx:
    from alignxfer.delex import prepare_delex

    for lang, test, out, summary in zip(ctx.params.languages, ctx.input.tests, ctx.output.tests, ctx.output.summaries):
        counts = prepare_delex(test, ctx.input.english_train, out, lang, summary_path=summary)
        print(
            f"[prepare_delex] {lang}: {counts['replaced_words']} of {counts['lexical_words']} words replaced "
            f"({100 * counts['replaced_fraction']:.1f} %), {counts['documents_unchanged']} of {counts['documents']} "
            "documents unchanged",
            flush=True,
        )
        ctx.tracker.log_metrics({f"{lang}.replaced_fraction": counts["replaced_fraction"]})
