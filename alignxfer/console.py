"""What a job prints: the libraries' expected noise off, progress lines with the job's label and an ETA.

* :func:`quiet_libraries` (called by :func:`workflow_scripts.snakemake_job.job` before anything imports the
  libraries): no progress bars from Hugging Face hub / datasets / transformers ("Loading weights",
  "Saving the dataset"), and transformers' *expected* load reports dropped: the report printed
  when an MLM checkpoint becomes a classifier (new ``classifier``/``pooler`` weights, unused
  ``cls.*`` MLM head) is the normal case of every fine-tuning. A report naming any other weight
  (a real mismatch) is still printed, without ANSI colour codes.
* :func:`eta` -- ``12s``, ``3m05s``, ``1h02m`` remaining from the progress so far.
* :func:`label` -- the prefix of a job's progress lines (``[finetune topic/weam/seed1]``), set
  by :func:`workflow_scripts.snakemake_job.job` in ``ALIGNXFER_JOB_LABEL`` so the package's loops use it.
"""

from __future__ import annotations

import logging
import os
import re

#: weights whose absence / surplus is expected when an MLM checkpoint is loaded for a task
EXPECTED_KEYS = re.compile(r"^(classifier\.|qa_outputs\.|(bert|roberta|model)\.pooler\.|pooler\.|cls\.)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
LABEL_ENV = "ALIGNXFER_JOB_LABEL"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def is_expected_load_report(message: str) -> bool:
    """Whether ``message`` is a transformers LOAD REPORT that names only :data:`EXPECTED_KEYS`."""
    text = strip_ansi(message)
    if "LOAD REPORT" not in text:
        return False
    keys = []
    for line in text.splitlines()[1:]:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 2 and cells[1] in ("MISSING", "UNEXPECTED", "MISMATCH", "CONVERSION", "SKIPPED", "OWNED"):
            if cells[1] not in ("MISSING", "UNEXPECTED"):
                return False
            keys.append(cells[0])
    return bool(keys) and all(EXPECTED_KEYS.match(k) for k in keys)


class _LoadReportFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        if is_expected_load_report(message):
            return False
        if "\x1b[" in message:
            record.msg, record.args = strip_ansi(message), ()
        return True


_FILTER = _LoadReportFilter()


def quiet_libraries() -> None:
    """Progress bars off and expected load reports dropped (see module docstring). Idempotent."""
    for var in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for name in ("transformers", "transformers.modeling_utils", "transformers.utils.loading_report"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    # transformers' own handler sits on the "transformers" logger; records from child loggers reach it
    # by propagation, where logger filters do not apply, so the filter goes on its handlers too
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        for handler in logging.getLogger("transformers").handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    except ImportError:
        pass


def eta(done: float, total: float, elapsed_s: float) -> str:
    """Time left at the pace so far (``?`` before any progress)."""
    if done <= 0 or total <= 0 or elapsed_s <= 0:
        return "?"
    left = max(0.0, elapsed_s * (total - done) / done)
    if left < 60:
        return f"{left:.0f}s"
    if left < 3600:
        return f"{int(left // 60)}m{int(left % 60):02d}s"
    return f"{int(left // 3600)}h{int(left % 3600 // 60):02d}m"


def job_label(rule: str, wildcards: dict) -> str:
    """``finetune topic/weam/seed1``: the rule and its wildcard values (seeds as ``seed<k>``,
    pre-training seeds as ``p<k>``: ``pretrain weam/p13``)."""
    order = ("task", "setting", "objective", "lang", "direction", "pseed", "seed")
    keys = [k for k in order if k in wildcards] + sorted(k for k in wildcards if k not in order)
    prefix = {"seed": "seed", "pseed": "p"}
    parts = [f"{prefix.get(k, '')}{wildcards[k]}" for k in keys]
    return f"{rule} {'/'.join(parts)}" if parts else rule


def label(default: str = "") -> str:
    """The current job's label (``[finetune topic/weam/seed1]``), or ``[default]`` outside a job."""
    value = os.environ.get(LABEL_ENV) or default
    return f"[{value}]" if value else ""


def headline(gathered: dict, claims: list | None = None, summary_path=None) -> list[str]:
    """The lines ``gather`` ends with: where the summary is, each arm's zero-shot average of the
    primary metric (points, mean over seeds of the per-seed average over languages) and the
    claims' verdicts. Reads only the tidy metrics table of :func:`alignxfer.results.gather`."""
    lines = []
    if summary_path:
        lines.append(f"[gather] summary: {os.path.abspath(summary_path)}")
    df = gathered.get("metrics") if isinstance(gathered, dict) else None
    try:
        rows = df[(df["setting"] == "zero_shot") & (df["primary"])]
        for task in sorted(rows["task"].unique()):
            part = rows[rows["task"] == task]
            per_seed = part.groupby(["objective", "seed"])["value"].mean().groupby("objective")
            mean_, std = per_seed.mean() * 100, per_seed.std() * 100
            metric = part["metric"].iloc[0]
            order = list(dict.fromkeys(part["objective"]))
            arms = ", ".join(
                f"{arm} {mean_[arm]:.1f}" + ("" if std.isna()[arm] else f" ± {std[arm]:.1f}") for arm in order
            )
            lines.append(
                f"[gather] {task} zero-shot {metric} (points, average over {part['lang'].nunique()} languages, "
                f"mean ± std over seeds): {arms}"
            )
    except (KeyError, TypeError, AttributeError, IndexError):
        pass
    if claims:
        counts: dict[str, int] = {}
        for claim in claims:
            counts[str(claim.get("verdict"))] = counts.get(str(claim.get("verdict")), 0) + 1
        lines.append("[gather] claims: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return lines
