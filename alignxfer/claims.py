"""Each claim of docs/research.md §1 judged on this run's numbers.

Verdicts: **supported**, **contradicted**, **inconclusive**, **not testable in this
configuration**. Every comparison is the paired hierarchical bootstrap of :mod:`alignxfer.stats`
(pre-training seeds, fine-tuning seeds, test documents; paired by seed and document across arms)
on the task's primary metric in points, averaged over the test languages; each verdict lists the
difference, its 95% CI, p and the minimal detectable effect (MDE). A claim is a region of the
difference Δ; the verdict is *supported* when the CI lies inside the region, *contradicted* when
it lies inside the region's complement, *inconclusive* when it is compatible with both:

* *A outperforms / improves on B*: Δ = A − B > 0: supported if the 95% CI's lower end > 0,
  contradicted if its upper end ≤ 0.
* *by a large margin*: Δ ≥ ``large_margin``: supported if CI low ≥ margin, contradicted if CI high
  < margin.
* *A is not as good as B*: Δ < 0: supported if CI high < 0, contradicted if CI low ≥ 0.
* *similar* (A and B's improvements over C): both improve (above) **and** A − B is equivalent to 0
  within ±``similar_margin`` by TOST (the 90% CI inside the margins); the equivalence part is
  contradicted when the 95% CI lies entirely outside the margins.
* *slightly lower than, but close to*: −``close_margin`` ≤ Δ < 0: supported if the 95% CI's upper
  end < 0 and the 90% CI's lower end > −margin (TOST on the lower bound); contradicted if CI low ≥ 0
  or CI high < −margin.
* A conjunction is contradicted if a part is, not testable if a part is (and none contradicted),
  inconclusive if a part is, supported if every part is.
* Claims about an objective ("WEAM improves …") are judged against ``base`` as the paper does; the
  same rule against the ``mlm`` control is printed beside it (continued pre-training of any kind
  may explain a gain over ``base``).
* The claims are the paper's pre-specified hypotheses, each judged at α = 0.05 on its own CI; the
  tables' Holm correction (exploratory, across arms) is not applied here.
* Claims about XNLI are judged on the ``xnli`` task when it was run, otherwise on the configured
  sentence-classification task (``topic``) as a stand-in, which the verdict says; never on an
  extractive-QA task (``mlqa``).
* A comparison with fewer than two paired runs (seeds) has no variance: not testable.

Arms: "mBERT" = ``base``, "mBERT+TLM" = ``tlm``, "mBERT+WEAM" = ``weam``, "word-aligned mBERT" =
``word_aligned``, the MLM control = ``mlm``, the contrastive arm = ``contrastive``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from alignxfer import results as R
from alignxfer import stats
from alignxfer.io import atomic_open

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable in this configuration"
NOT_SUPPORTED = CONTRADICTED  # the name of the old two-valued rule's negative verdict

ALPHA = stats.ALPHA
#: defaults of the config keys stats.large_margin, stats.similar_margin, stats.close_margin (points)
LARGE_MARGIN = 2.0
SIMILAR_MARGIN = 1.0
CLOSE_MARGIN = 2.0

#: the settings the WEAM paper reports (docs/research.md §1, claim 7); (value, verified?)
PAPER_SETTINGS = {
    "learning_rate": (5e-5, True),
    "batch_size": (32, True),
    "max_length": (128, True),
    "weam_mask_prob": (0.3, False),
    "weam_lambda": (1.0, False),
}

CLAIMS = {
    1: "mBERT+TLM outperforms mBERT by a large margin in the zero-shot setting.",
    2: "mBERT+TLM is not as good as mBERT in the translate-train setting.",
    3: "mBERT+WEAM improves zero-shot scores and also outperforms mBERT in translate-train.",
    4: "mBERT+TLM and word-aligned mBERT give similar improvements on XNLI over mBERT.",
    5: "mBERT+WEAM significantly outperforms both mBERT+TLM and word-aligned mBERT on XNLI.",
    6: "mBERT+WEAM zero-shot is slightly lower than, but close to, translate-train on XNLI.",
    7: "Settings reported: masking probability 0.3 (unverified); lr 5e-5, batch 32, max length 128; "
    "λ = 1 (unverified); FastAlign for word pairs; each masked token gets a multilingual and a "
    "cross-lingual prediction.",
    8: "Contrastive multilingual pre-training (SimCSE/LaBSE style) improves robustness of zero-shot "
    "transfer over MLM, measured as average accuracy across tasks.",
}

ZS, TT = "zero_shot", "translate_train"


def _to_frame(df_or_tables) -> pd.DataFrame:
    if isinstance(df_or_tables, dict):
        return df_or_tables["metrics"]
    if isinstance(df_or_tables, (str, Path)):
        df = pd.read_csv(df_or_tables)
        df["seed"] = df["seed"].astype("Int64")
        df["primary"] = df["primary"].astype(bool)
        df["pretrain_seed"] = df["pretrain_seed"].astype("Int64") if "pretrain_seed" in df.columns else pd.NA
        return df
    return df_or_tables


def _p(p: float) -> str:
    """``p`` formatted with its relation sign: "= 0.017", "< 0.001", "= n/a"."""
    return stats.format_p(p, relation=True)


class _Data:
    """The tidy metrics table and the bootstrap comparator, with the comparisons the claims need."""

    def __init__(self, df: pd.DataFrame, comparator: R.Comparator | None = None, margins: dict | None = None):
        self.df = df
        self.prim = R.primary_metrics(df) if len(df) else {}
        self.tasks = R.classification_tasks(df) if len(df) else []
        self.comparator = comparator if comparator is not None else R.Comparator(df)
        margins = margins or {}
        self.large = float(margins.get("large_margin", LARGE_MARGIN))
        self.similar = float(margins.get("similar_margin", SIMILAR_MARGIN))
        self.close = float(margins.get("close_margin", CLOSE_MARGIN))
        self._mats: dict = {}

    def settings(self, task: str) -> list[str]:
        return R.ordered_unique(self.df[self.df["task"] == task]["setting"])

    def matrix(self, task: str, setting: str) -> pd.DataFrame:
        key = (task, setting)
        if key not in self._mats:
            self._mats[key] = (
                R.seed_matrix(self.df, task, setting, self.prim[task]) if task in self.prim else pd.DataFrame()
            )
        return self._mats[key]

    def train_docs(self, task: str, setting: str, objective: str, langs: list[str]) -> tuple:
        """The training-set sizes (``train_docs`` of the metric files) of an arm's runs in ``langs``
        (sorted distinct values; empty when the files do not say)."""
        rows = self.df[
            (self.df["task"] == task)
            & (self.df["setting"] == setting)
            & (self.df["objective"] == objective)
            & (self.df["lang"].isin(langs))
        ]
        if "train_docs" not in rows or rows["train_docs"].isna().any():
            return ()
        return tuple(sorted({int(v) for v in rows["train_docs"]}))

    def has(self, task: str, setting: str, *objectives: str) -> bool:
        mat = self.matrix(task, setting)
        return not mat.empty and all(o in mat.index.get_level_values(0) for o in objectives)

    def langs(self, task: str, setting: str) -> list[str]:
        mat = self.matrix(task, setting)
        return [c for c in mat.columns if c not in ("avg", "avg_xx")]

    def scores(self, task: str, setting: str, objective: str, langs: list[str] | None = None) -> list[float]:
        """Per-seed average over ``langs`` (default: the table's ``avg`` column)."""
        mat = self.matrix(task, setting)
        if langs is None:
            return R.arm_scores(mat, objective, "avg")
        if mat.empty or objective not in mat.index.get_level_values(0):
            return []
        values = mat.loc[objective][langs].mean(axis=1, skipna=False)
        return [float(v) for v in values if not pd.isna(v)]

    def compare(self, task: str, a: tuple, b: tuple, langs: list[str] | None = None) -> dict:
        """Bootstrap A − B of two series ``(setting, objective)`` on the average over ``langs``
        (default: every language of A's setting); {} when a series lacks data."""
        langs = langs or self.langs(task, a[0])
        out = self.comparator.compare(task, self.prim[task], a, b, langs, {"avg": langs})
        return out.get("avg", {})

    def sentence_task(self) -> tuple[str | None, str]:
        """The task XNLI claims are judged on, and a note saying whether it is a stand-in."""
        if "xnli" in self.tasks:
            return "xnli", ""
        for task in ("topic",) + tuple(self.tasks):
            if task in self.tasks and _sentence_classification(task):
                return (
                    task,
                    f"No XNLI in this configuration: judged on `{task}` (sentence classification) as a stand-in for XNLI.",
                )
        return None, "No sentence-classification task in this configuration."


def _sentence_classification(task: str) -> bool:
    """Whether ``task``'s plug-in classifies sentences or sentence pairs, as XNLI does (not QA)."""
    from alignxfer.tasks import TASKS

    spec = TASKS.get(task)
    return spec is not None and spec.classifies


def _untestable(cmp: dict) -> bool:
    """No test possible: no data, or fewer than two paired runs (no seed variance)."""
    return not cmp or cmp.get("n_runs", 0) < 2


NO_TEST = "fewer than two paired seeds (or no scores): no variance, no test"


def _cmp_line(a: str, b: str, cmp: dict, what: str) -> str:
    if not cmp:
        return f"{a} vs {b} ({what}): no scores"
    docs = cmp.get("docs") or {}
    level = (
        "seeds and test documents"
        if docs and all(d > 1 for d in docs.values())
        else "seeds only (no per-example predictions)"
    )
    return (
        f"{a} − {b} ({what}) = {cmp['diff']:+.2f} points, 95% CI {stats.format_ci(cmp)}, p {_p(cmp['p'])}, "
        f"MDE {cmp['mde']:.2f} (n = {cmp['n_runs']} paired runs{'' if cmp.get('paired_seeds', True) else ', seeds unpaired'}; "
        f"resampled: {level})"
    )


def _mean_line(name: str, values: list[float]) -> str:
    s = stats.summarize(values)
    std = "n/a" if math.isnan(s["std"]) else f"{s['std']:.2f}"
    return f"{name}: {s['mean']:.2f} ± {std} (n = {s['n']})"


# ---- the verdict rules: (verdict or None = not testable, short reason)


def rule_greater(cmp: dict, margin: float = 0.0) -> str | None:
    """Claim Δ > margin (margin 0: "improves"; a large margin: Δ ≥ margin)."""
    if _untestable(cmp):
        return None
    if (cmp["ci_low"] > margin) if margin == 0 else (cmp["ci_low"] >= margin):
        return SUPPORTED
    if (cmp["ci_high"] <= margin) if margin == 0 else (cmp["ci_high"] < margin):
        return CONTRADICTED
    return INCONCLUSIVE


def rule_less(cmp: dict) -> str | None:
    """Claim Δ < 0 ("not as good as")."""
    if _untestable(cmp):
        return None
    if cmp["ci_high"] < 0:
        return SUPPORTED
    if cmp["ci_low"] >= 0:
        return CONTRADICTED
    return INCONCLUSIVE


def rule_equivalent(cmp: dict, margin: float) -> str | None:
    """Claim |Δ| < margin ("similar"), by TOST: the 90% CI inside (−margin, margin)."""
    if _untestable(cmp):
        return None
    if stats.equivalent(cmp, margin):
        return SUPPORTED
    if cmp["ci_low"] > margin or cmp["ci_high"] < -margin:
        return CONTRADICTED
    return INCONCLUSIVE


def rule_close_below(cmp: dict, margin: float) -> str | None:
    """Claim −margin ≤ Δ < 0 ("slightly lower than, but close to")."""
    if _untestable(cmp):
        return None
    if cmp["ci_high"] < 0 and cmp["ci90_low"] > -margin:
        return SUPPORTED
    if cmp["ci_low"] >= 0 or cmp["ci_high"] < -margin:
        return CONTRADICTED
    return INCONCLUSIVE


def _verdict_text(verdict: str | None) -> str:
    return NOT_TESTABLE if verdict is None else verdict


def _combine(parts: list[tuple[str | None, str]]) -> tuple[str, str]:
    """Verdict of a conjunction from (part verdict or None = untestable, reason) pairs."""
    reasons = "; ".join(r for _, r in parts)
    verdicts = [v for v, _ in parts]
    if CONTRADICTED in verdicts:
        return CONTRADICTED, reasons
    if None in verdicts or not verdicts:
        return NOT_TESTABLE, reasons
    if INCONCLUSIVE in verdicts:
        return INCONCLUSIVE, reasons
    return SUPPORTED, reasons


def _part(label: str, cmp: dict, verdict: str | None) -> tuple[str | None, str]:
    if _untestable(cmp):
        return None, f"{label}: {NO_TEST}"
    return verdict, f"{label} = {cmp['diff']:+.2f} {stats.format_ci(cmp)} → {verdict}"


def _claim(
    number: int,
    verdict: str,
    reason: str,
    evidence: list[str],
    test: str,
    task: str | None = None,
    control: str | None = None,
    mde: list[str] | None = None,
    **numbers,
) -> dict:
    return {
        "id": number,
        "claim": CLAIMS[number],
        "verdict": verdict,
        "reason": reason,
        "task": task,
        "evidence": evidence,
        "test": test,
        "numbers": numbers,
        "control_verdict": control,
        "mde": mde or [],
    }


BOOT = f"paired hierarchical bootstrap on the language-averaged primary metric, 95% percentile CI (α = {ALPHA})"


def _mde(label: str, cmp: dict) -> str:
    return f"{label}: {cmp['mde']:.2f} points" if cmp and not math.isnan(cmp.get("mde", math.nan)) else f"{label}: n/a"


def _against_control(d: _Data, task: str, setting: str, arm: str, rule, *args) -> tuple[str | None, str | None]:
    """The same rule for ``arm`` against the ``mlm`` control: (verdict, evidence line) or (None, None)."""
    if arm == "mlm" or not d.has(task, setting, arm, "mlm"):
        return None, None
    cmp = d.compare(task, (setting, arm), (setting, "mlm"))
    verdict = rule(cmp, *args)
    return verdict, f"`{task}` (control, not part of the verdict): " + _cmp_line(
        arm, "mlm", cmp, f"{setting} avg"
    ) + f" → {_verdict_text(verdict)}"


def _control_summary(verdicts: list[str | None]) -> str | None:
    if not verdicts:
        return None
    combined, _ = _combine([(v, "") for v in verdicts])
    return combined


def _claim_1(d: _Data) -> dict:
    test = f"{BOOT}; large margin: Δ ≥ {d.large:g} points"
    tasks = [t for t in d.tasks if d.has(t, ZS, "tlm", "base")]
    if not tasks:
        return _claim(1, NOT_TESTABLE, "needs the `tlm` and `base` arms in the zero-shot setting", [], test)
    parts, evidence, controls, mde = [], [], [], []
    for task in tasks:
        cmp = d.compare(task, (ZS, "tlm"), (ZS, "base"))
        evidence.append(f"`{task}`: " + _cmp_line("tlm", "base", cmp, "zero-shot avg"))
        parts.append(_part(f"`{task}` tlm − base", cmp, rule_greater(cmp, d.large)))
        mde.append(_mde(f"`{task}` tlm − base", cmp))
        verdict, line = _against_control(d, task, ZS, "tlm", rule_greater, d.large)
        if line:
            evidence.append(line)
            controls.append(verdict)
    verdict, reason = _combine(parts)
    return _claim(1, verdict, reason, evidence, test, ", ".join(tasks), _control_summary(controls), mde)


def _claim_2(d: _Data) -> dict:
    test = f"{BOOT}; 'not as good' = Δ < 0"
    tasks = [t for t in d.tasks if d.has(t, TT, "tlm", "base")]
    if not tasks:
        ran = any(TT in d.settings(t) for t in d.tasks)
        why = (
            "the `tlm` and `base` arms were not both fine-tuned in translate-train"
            if ran
            else "the translate-train setting was not run"
        )
        return _claim(2, NOT_TESTABLE, why, [], test)
    parts, evidence, mde = [], [], []
    for task in tasks:
        cmp = d.compare(task, (TT, "tlm"), (TT, "base"))
        evidence.append(f"`{task}`: " + _cmp_line("tlm", "base", cmp, "translate-train avg"))
        parts.append(_part(f"`{task}` tlm − base", cmp, rule_less(cmp)))
        mde.append(_mde(f"`{task}` tlm − base (translate-train)", cmp))
    verdict, reason = _combine(parts)
    return _claim(2, verdict, reason, evidence, test, ", ".join(tasks), None, mde)


def _claim_3(d: _Data) -> dict:
    test = f"{BOOT}; both conjuncts (zero-shot gain, translate-train gain over base: Δ > 0) needed"
    parts, evidence, controls, mde = [], [], [], []
    for setting, label in ((ZS, "zero-shot"), (TT, "translate-train")):
        tasks = [t for t in d.tasks if d.has(t, setting, "weam", "base")]
        if not tasks:
            parts.append((None, f"{label}: no `weam` and `base` scores (setting not run or arm missing)"))
            continue
        for task in tasks:
            cmp = d.compare(task, (setting, "weam"), (setting, "base"))
            evidence.append(f"`{task}`: " + _cmp_line("weam", "base", cmp, f"{label} avg"))
            parts.append(_part(f"{label} `{task}` weam − base", cmp, rule_greater(cmp)))
            mde.append(_mde(f"{label} `{task}` weam − base", cmp))
            verdict, line = _against_control(d, task, setting, "weam", rule_greater)
            if line:
                evidence.append(line)
                controls.append(verdict)
    verdict, reason = _combine(parts)
    return _claim(3, verdict, reason, evidence, test, None, _control_summary(controls), mde)


def _claim_4(d: _Data) -> dict:
    task, note = d.sentence_task()
    test = (
        f"{BOOT}; similar = both improve on base (Δ > 0) and tlm − word_aligned equivalent to 0 within "
        f"±{d.similar:g} points (TOST, 90% CI inside the margins)"
    )
    if task is None or not d.has(task, ZS, "tlm", "word_aligned", "base"):
        return _claim(
            4,
            NOT_TESTABLE,
            "needs the `tlm`, `word_aligned` and `base` arms (zero-shot) on a sentence-classification task",
            [note] if note else [],
            test,
            task,
        )
    c_tlm = d.compare(task, (ZS, "tlm"), (ZS, "base"))
    c_wa = d.compare(task, (ZS, "word_aligned"), (ZS, "base"))
    c_pair = d.compare(task, (ZS, "tlm"), (ZS, "word_aligned"))
    evidence = ([note] if note else []) + [
        _cmp_line("tlm", "base", c_tlm, "zero-shot avg"),
        _cmp_line("word_aligned", "base", c_wa, "zero-shot avg"),
        _cmp_line("tlm", "word_aligned", c_pair, "zero-shot avg")
        + (
            f", 90% CI [{c_pair['ci90_low']:+.2f}, {c_pair['ci90_high']:+.2f}] vs margin ±{d.similar:g}"
            if c_pair
            else ""
        ),
    ]
    parts = [
        _part("tlm − base", c_tlm, rule_greater(c_tlm)),
        _part("word_aligned − base", c_wa, rule_greater(c_wa)),
        _part(f"tlm − word_aligned (equivalence ±{d.similar:g})", c_pair, rule_equivalent(c_pair, d.similar)),
    ]
    controls = []
    for arm in ("tlm", "word_aligned"):
        verdict, line = _against_control(d, task, ZS, arm, rule_greater)
        if line:
            evidence.append(line)
            controls.append(verdict)
    verdict, reason = _combine(parts)
    mde = [_mde("tlm − base", c_tlm), _mde("word_aligned − base", c_wa), _mde("tlm − word_aligned", c_pair)]
    return _claim(
        4,
        verdict,
        reason,
        evidence,
        test,
        task,
        _control_summary(controls),
        mde,
        diff=c_pair.get("diff", math.nan),
        p=c_pair.get("p", math.nan),
    )


def _claim_5(d: _Data) -> dict:
    task, note = d.sentence_task()
    test = f"{BOOT}; both comparisons Δ > 0"
    if task is None or not d.has(task, ZS, "weam"):
        return _claim(
            5,
            NOT_TESTABLE,
            "needs the `weam` arm (zero-shot) on a sentence-classification task",
            [note] if note else [],
            test,
            task,
        )
    parts, evidence, mde = [], [note] if note else [], []
    for other in ("tlm", "word_aligned"):
        if not d.has(task, ZS, other):
            parts.append((None, f"no `{other}` arm"))
            continue
        cmp = d.compare(task, (ZS, "weam"), (ZS, other))
        evidence.append(_cmp_line("weam", other, cmp, "zero-shot avg"))
        parts.append(_part(f"weam − {other}", cmp, rule_greater(cmp)))
        mde.append(_mde(f"weam − {other}", cmp))
    if d.has(task, TT, "weam", "tlm", "word_aligned"):
        for other in ("tlm", "word_aligned"):
            cmp = d.compare(task, (TT, "weam"), (TT, other))
            evidence.append(
                "(translate-train, not part of the verdict) " + _cmp_line("weam", other, cmp, "translate-train avg")
            )
    verdict, reason = _combine(parts)
    return _claim(5, verdict, reason, evidence, test, task, None, mde)


def _docs_text(sizes: tuple) -> str:
    return str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"


def _claim_6(d: _Data) -> dict:
    task, note = d.sentence_task()
    test = (
        f"{BOOT} (zero-shot vs translate-train of the same arm, paired by seed and document); slightly lower but "
        f"close = −{d.close:g} ≤ Δ < 0: 95% CI below 0 and 90% CI above −{d.close:g} (TOST on the lower bound), "
        "averaged over the languages both settings test"
    )
    if task is None or not d.has(task, ZS, "weam"):
        return _claim(
            6,
            NOT_TESTABLE,
            "needs the `weam` arm on a sentence-classification task",
            [note] if note else [],
            test,
            task,
        )
    if not d.has(task, TT, "weam"):
        return _claim(
            6, NOT_TESTABLE, "the translate-train setting was not run for `weam`", [note] if note else [], test, task
        )
    langs = [lang for lang in d.langs(task, TT) if lang in d.langs(task, ZS)]
    if not langs:
        return _claim(
            6, NOT_TESTABLE, "zero-shot and translate-train share no test language", [note] if note else [], test, task
        )
    docs = {setting: d.train_docs(task, setting, "weam", langs) for setting in (ZS, TT)}
    if all(docs.values()) and docs[ZS] != docs[TT]:
        return _claim(
            6,
            NOT_TESTABLE,
            "zero-shot and translate-train differ in more than the training language: "
            f"zero-shot trained on {_docs_text(docs[ZS])} documents, translate-train on {_docs_text(docs[TT])} "
            "(the `zero_shot_matched` setting trains English on the translate-train documents)",
            [note] if note else [],
            test,
            task,
        )
    zs, tt = d.scores(task, ZS, "weam", langs), d.scores(task, TT, "weam", langs)
    cmp = d.compare(task, (ZS, "weam"), (TT, "weam"), langs)
    evidence = ([note] if note else []) + [
        f"languages: {', '.join(langs)}",
        _mean_line("weam zero-shot", zs),
        _mean_line("weam translate-train", tt),
        _cmp_line("zero-shot", "translate-train", cmp, "weam, avg over shared languages")
        + (f", 90% CI [{cmp['ci90_low']:+.2f}, {cmp['ci90_high']:+.2f}] vs −{d.close:g}" if cmp else ""),
    ]
    verdict, reason = _combine([_part("weam zero-shot − translate-train", cmp, rule_close_below(cmp, d.close))])
    return _claim(
        6,
        verdict,
        reason,
        evidence,
        test,
        task,
        None,
        [_mde("zero-shot − translate-train", cmp)],
        gap=-cmp["diff"] if cmp else math.nan,
    )


def _claim_7(config_summary: dict) -> dict:
    evidence, deviations, unknown = [], [], []
    for key, (paper, verified) in PAPER_SETTINGS.items():
        ours = config_summary.get(key)
        tag = "" if verified else " (paper value unverified)"
        if ours is None:
            unknown.append(key)
            evidence.append(f"{key}: paper {paper}{tag}; this run: not given")
        elif math.isclose(float(ours), float(paper), rel_tol=1e-9):
            evidence.append(f"{key}: paper {paper}{tag}; this run {ours} — same")
        else:
            deviations.append(key)
            evidence.append(f"{key}: paper {paper}{tag}; this run {ours} — differs")
    evidence.append(
        "word pairs: FastAlign's model (sil-thot `FastAlignModel`, both directions, symmetrised"
        f" {config_summary.get('symmetrization', 'grow-diag-final-and')}) — by construction of the workflow"
    )
    evidence.append(
        "WEAM loss: multilingual prediction + λ × cross-lingual prediction on swapped representations — by construction"
    )
    test = "configuration comparison with the paper's reported settings (exact match)"
    if deviations:
        return _claim(
            7,
            NOT_TESTABLE,
            f"this configuration deviates from the reported settings in {', '.join(deviations)}: "
            "results here are not a test of the paper's configuration",
            evidence,
            test,
            deviations=deviations,
        )
    if unknown:
        return _claim(7, NOT_TESTABLE, f"settings not given to the judge: {', '.join(unknown)}", evidence, test)
    return _claim(7, SUPPORTED, "this run uses the settings the paper reports", evidence, test)


def _cross_task(d: _Data, tasks: list[str], series: list[tuple]) -> dict | None:
    """Replicates of the average over ``tasks`` (each task's language average) for ``series``,
    paired (shared seed draws); plus each task's worst-language replicates."""
    points, reps, worst_p, worst_r, n_runs = [], [], [], [], []
    for task in tasks:
        out = d.comparator.replicates(task, d.prim[task], series, d.langs(task, ZS))
        if not out:
            return None
        points.append(out["point"].mean(axis=1))
        reps.append(out["reps"].mean(axis=2))
        worst_p.append(out["point"].min(axis=1))
        worst_r.append(out["reps"].min(axis=2))
        n_runs.append(min(out["n_runs"]))
    mean_p, mean_r = np.mean(points, axis=0), np.mean(reps, axis=0)
    return {
        "avg": {**stats.summarize_difference(mean_p[0] - mean_p[1], mean_r[0] - mean_r[1]), "n_runs": min(n_runs)},
        "worst": {
            **stats.summarize_difference(
                np.mean(worst_p, axis=0)[0] - np.mean(worst_p, axis=0)[1],
                np.mean(worst_r, axis=0)[0] - np.mean(worst_r, axis=0)[1],
            ),
            "n_runs": min(n_runs),
        },
    }


def rule_not_worse(cmp: dict, margin: float) -> str | None:
    """Claim Δ ≥ −margin (non-inferiority): supported if the 90% CI's lower end > −margin,
    contradicted if the 95% CI's upper end < −margin."""
    if _untestable(cmp):
        return None
    if cmp["ci90_low"] > -margin:
        return SUPPORTED
    if cmp["ci_high"] < -margin:
        return CONTRADICTED
    return INCONCLUSIVE


def _claim_8(d: _Data) -> dict:
    test = (
        f"{BOOT} on the zero-shot primary metric averaged over languages and tasks (Δ > 0); robustness: the "
        f"worst-language score not worse than the MLM control's by more than {d.similar:g} points "
        "(non-inferiority, 90% CI)"
    )
    tasks = [t for t in d.tasks if d.has(t, ZS, "contrastive", "mlm")]
    if not tasks:
        return _claim(8, NOT_TESTABLE, "needs the `contrastive` and `mlm` arms in the zero-shot setting", [], test)
    avg = R.cross_task_average(d.df, ZS, tasks)
    con = [float(v) for v in avg.loc["contrastive"]["mean"] if not pd.isna(v)]
    mlm = [float(v) for v in avg.loc["mlm"]["mean"] if not pd.isna(v)]
    both = _cross_task(d, tasks, [(ZS, "contrastive"), (ZS, "mlm")]) or {"avg": {}, "worst": {}}
    cmp, worst = both["avg"], both["worst"]
    evidence = [
        f"tasks: {', '.join(tasks)} (metric: {', '.join(d.prim[t] for t in tasks)})",
        _mean_line("contrastive, average over tasks and languages", con),
        _mean_line("mlm, average over tasks and languages", mlm),
        _cmp_line("contrastive", "mlm", cmp, "zero-shot average over tasks"),
        _cmp_line("contrastive", "mlm", worst, "worst-language score, averaged over tasks"),
    ]
    for task in tasks:
        mat = d.matrix(task, ZS)
        langs = d.langs(task, ZS)
        for arm in ("contrastive", "mlm"):
            means = mat.loc[arm][langs].mean(axis=0)
            line = (
                f"`{task}` {arm}: worst language {means.idxmin()} {float(means.min()):.2f}, seed std of avg "
                f"{stats.summarize(d.scores(task, ZS, arm))['std']:.2f}"
            )
            if "en" in langs and len(langs) > 1:
                xx = [lang for lang in langs if lang != "en"]
                line += f", transfer gap en − avg_xx {float(means['en'] - means[xx].mean()):.2f}"
            evidence.append(line)
    verdict, reason = _combine(
        [
            _part("contrastive − mlm (average)", cmp, rule_greater(cmp)),
            _part(f"worst language (non-inferiority ±{d.similar:g})", worst, rule_not_worse(worst, d.similar)),
        ]
    )
    return _claim(
        8,
        verdict,
        reason,
        evidence,
        test,
        ", ".join(tasks),
        None,
        [_mde("contrastive − mlm", cmp), _mde("worst language", worst)],
        diff=cmp.get("diff", math.nan),
        p=cmp.get("p", math.nan),
    )


def judge_claims(df_or_tables, config_summary: dict, comparator: R.Comparator | None = None) -> list[dict]:
    """Verdicts for claims 1–8: ``[{"id", "claim", "verdict", "reason", "task", "evidence", "test",
    "numbers", "control_verdict", "mde"}]``.

    ``df_or_tables``: the dict :func:`alignxfer.results.gather` returns (its comparator is reused,
    so the claims see the tables' bootstrap draws), the tidy metrics DataFrame, or the path of
    ``all_metrics.csv``. ``config_summary``: learning_rate, batch_size, max_length, weam_mask_prob,
    weam_lambda (and optionally seeds, symmetrization, base, and ``stats``: large_margin,
    similar_margin, close_margin, bootstrap_samples, bootstrap_seed).
    """
    config_summary = dict(config_summary or {})
    margins = dict(config_summary.get("stats") or {})
    if comparator is None and isinstance(df_or_tables, dict):
        comparator = df_or_tables.get("comparator")
    df = _to_frame(df_or_tables)
    if comparator is None:
        comparator = R.Comparator(
            df,
            stats.Bootstrap(
                margins.get("bootstrap_samples", stats.BOOT_SAMPLES), margins.get("bootstrap_seed", stats.BOOT_SEED)
            ),
        )
    d = _Data(df, comparator, margins)
    return [
        _claim_1(d),
        _claim_2(d),
        _claim_3(d),
        _claim_4(d),
        _claim_5(d),
        _claim_6(d),
        _claim_7(config_summary),
        _claim_8(d),
    ]


def render_claims(claims: list[dict], config_summary: dict | None = None) -> str:
    margins = dict((config_summary or {}).get("stats") or {})
    large = margins.get("large_margin", LARGE_MARGIN)
    similar = margins.get("similar_margin", SIMILAR_MARGIN)
    close = margins.get("close_margin", CLOSE_MARGIN)
    out = [
        "# Claims of the WEAM study, judged on this run",
        "",
        "Verdicts: **supported** (the 95% CI lies inside the claim), **contradicted** (inside its negation), "
        "**inconclusive** (the CI is compatible with both), **not testable in this configuration**. Scores are the "
        "task's primary metric in points, averaged over test languages; every comparison is a paired hierarchical "
        "bootstrap (pre-training seeds, fine-tuning seeds, test documents; paired by seed and document across arms).",
        "",
        f"Decision rules: *improves / outperforms* = Δ > 0 (CI above 0); *large margin* = Δ ≥ {large:g} points "
        f"(`stats.large_margin`); *not as good* = Δ < 0; *similar* = both improve and the difference is equivalent "
        f"to 0 within ±{similar:g} points by TOST (`stats.similar_margin`; the 90% CI inside the margins); "
        f"*slightly lower but close* = −{close:g} ≤ Δ < 0 (`stats.close_margin`). Claims about an objective are judged "
        "against `base`; the same rule against the `mlm` control is given beside it. MDE = minimal detectable "
        "effect of the comparison (power 0.8): a true difference smaller than it could easily be missed.",
        "",
    ]
    if config_summary and config_summary.get("seeds") is not None:
        out += [f"Fine-tuning seeds: {config_summary['seeds']}.", ""]
    if config_summary and config_summary.get("base"):
        out += [f"Base model: {config_summary['base']}", ""]
    if config_summary and config_summary.get("not_learned") is not None:
        out += treatment_lines(config_summary["not_learned"])
    out += [md_row(["#", "claim", "verdict", "same rule vs `mlm` control", "MDE (points)"]), "|---|---|---|---|---|"]
    for c in claims:
        out.append(
            md_row(
                [
                    str(c["id"]),
                    c["claim"],
                    f"**{c['verdict']}**",
                    c.get("control_verdict") or "–",
                    "; ".join(c.get("mde") or []) or "–",
                ]
            )
        )
    out.append("")
    for c in claims:
        out += [f"## Claim {c['id']}", "", f"> {c['claim']}", "", f"**Verdict: {c['verdict']}** — {c['reason']}", ""]
        if c.get("control_verdict"):
            out += [f"Against the `mlm` control (same rule): **{c['control_verdict']}**.", ""]
        if c.get("task"):
            out += [f"Task(s): {c['task']}", ""]
        out += [f"- {line}" for line in c["evidence"]]
        if c.get("mde"):
            out += ["", "Minimal detectable effect: " + "; ".join(c["mde"]) + "."]
        out += ["", f"Test: {c['test']}.", ""]
    return "\n".join(out)


def treatment_lines(not_learned: list[dict]) -> list[str]:
    """The treatment-check paragraph of claims.md: which pre-training jobs did not learn their own
    objective on held-out bitext (``alignxfer.treatment.not_learned``; full table in treatment.md)."""
    if not not_learned:
        return ["Treatment checks (`treatment.md`): every pre-training job improved its own held-out mechanism.", ""]
    lines = [
        "**Treatment checks (`treatment.md`): these pre-training jobs did not learn their own objective on "
        "held-out bitext, so a claim about them tests an untreated model:**",
        "",
    ]
    for item in not_learned:
        seed = "" if item.get("pretrain_seed") is None else f" (pre-training seed {item['pretrain_seed']})"
        before, after = item.get("before"), item.get("after")
        values = ", ".join(
            f"{k} {v:.3f}" for k, v in (("before / reference", before), ("after", after)) if isinstance(v, (int, float))
        )
        lines.append(f"- `{item['objective']}`{seed}: {item['metric']}" + (f" ({values})" if values else ""))
    return lines + [""]


def md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def write_claims(df_or_tables, config_summary: dict, out_path) -> list[dict]:
    """Judge the claims and write ``claims.md`` (atomically); returns the verdicts."""
    claims = judge_claims(df_or_tables, config_summary)
    with atomic_open(out_path) as handle:
        handle.write(render_claims(claims, config_summary))
    return claims
