"""Each claim of docs/research.md §1 judged on this run's numbers.

Verdicts: **supported**, **not supported**, **not testable in this configuration**. Every
verdict lists the numbers and the test behind it. Decision rules (all on per-seed scores in
points, the unit of replication being the fine-tuning seed; see :mod:`alignxfer.stats`):

* *A outperforms / improves on B*: mean(A) − mean(B) > 0 **and** Welch's t-test p < 0.05
  (two-sided). "Significantly outperforms" is the same rule.
* *by a large margin*: the above **and** the difference is ≥ ``LARGE_MARGIN`` = 2.0 points — the
  smallest difference the study is designed to resolve ("can a 2-point difference between arms
  be detected?"); for scale, the published XLM MLM → MLM+TLM gain on XNLI is 3.6 points.
* *A is not as good as B*: mean(A) − mean(B) < 0 and p < 0.05.
* *similar improvements* (A and B over C): both improve on C (the rule above: positive and
  p < 0.05), and A and B differ by at most ``SIMILAR_MARGIN`` = 1.0 point with no significant
  difference (p ≥ 0.05).
  With 3 seeds "not significant" is weak evidence; the minimal detectable difference is reported
  alongside so the reader can see how much could have been missed.
* *slightly lower than, but close to*: mean(A) < mean(B) and mean(B) − mean(A) ≤
  ``CLOSE_MARGIN`` = 2.0 points (the published XLM zero-shot vs translate-train gap on XNLI,
  75.1 vs 76.7, is 1.6 points; mBERT's 66.3 vs 71.6 is not "close").
* The score compared is the task's primary metric averaged over the test languages per seed
  (``avg``, English included, the XNLI convention); a comparison between zero-shot and
  translate-train uses the languages both settings test (no English).
* Claims about XNLI are judged on the ``xnli`` task when it was run, otherwise on the configured
  sentence-classification task (``topic``) as a stand-in, which the verdict says; never on an
  extractive-QA task (``mlqa``): without a sentence-classification task they are not testable.
* A claim whose conjuncts need data that was not produced (an arm, a setting) is *not testable*,
  unless a testable conjunct already fails (then *not supported*).

Arms: "mBERT" = ``base``, "mBERT+TLM" = ``tlm``, "mBERT+WEAM" = ``weam``, "word-aligned mBERT" =
``word_aligned``, the MLM control = ``mlm``, the contrastive arm = ``contrastive``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from alignxfer import results as R
from alignxfer import stats
from alignxfer.io import atomic_open

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
NOT_TESTABLE = "not testable in this configuration"

ALPHA = stats.ALPHA
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
        return df
    return df_or_tables


def _p(p: float) -> str:
    """``p`` formatted with its relation sign: "= 0.017", "< 0.001", "= n/a"."""
    return stats.format_p(p, relation=True)


class _Data:
    """Per-seed averages of the tidy metrics table, with the comparisons the claims need."""

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self.prim = R.primary_metrics(df) if len(df) else {}
        self.tasks = R.classification_tasks(df) if len(df) else []
        self._mats: dict = {}

    def settings(self, task: str) -> list[str]:
        return R.ordered_unique(self.df[self.df["task"] == task]["setting"])

    def matrix(self, task: str, setting: str) -> pd.DataFrame:
        key = (task, setting)
        if key not in self._mats:
            self._mats[key] = R.seed_matrix(self.df, task, setting, self.prim[task]) if task in self.prim else pd.DataFrame()
        return self._mats[key]

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

    def sentence_task(self) -> tuple[str | None, str]:
        """The task XNLI claims are judged on, and a note saying whether it is a stand-in."""
        if "xnli" in self.tasks:
            return "xnli", ""
        for task in ("topic",) + tuple(self.tasks):
            if task in self.tasks and _sentence_classification(task):
                return task, f"No XNLI in this configuration: judged on `{task}` (sentence classification) as a stand-in for XNLI."
        return None, "No sentence-classification task in this configuration."


def _sentence_classification(task: str) -> bool:
    """Whether ``task``'s plug-in classifies sentences or sentence pairs, as XNLI does (not QA)."""
    from alignxfer.tasks import TASKS
    from alignxfer.tasks.topic import TopicTask

    cls = TASKS.get(task)
    return cls is not None and issubclass(cls, TopicTask)


def _cmp_line(a: str, b: str, cmp: dict, what: str) -> str:
    if cmp["n_a"] == 0 or cmp["n_b"] == 0:
        return f"{a} vs {b} ({what}): no scores"
    ci = "" if math.isnan(cmp["ci_low"]) else f", 95% CI [{cmp['ci_low']:+.2f}, {cmp['ci_high']:+.2f}]"
    mdd = "" if math.isnan(cmp.get("mdd", math.nan)) else f", MDD {cmp['mdd']:.2f}"
    df = "" if math.isnan(cmp["df"]) else f", df = {cmp['df']:.1f}"
    return (
        f"{a} − {b} ({what}) = {cmp['diff']:+.2f} points (n = {cmp['n_a']} vs {cmp['n_b']} seeds), "
        f"Welch t = {cmp['t']:.2f}{df}, p {_p(cmp['p'])}{ci}{mdd}"
    )


def _mean_line(name: str, values: list[float]) -> str:
    s = stats.summarize(values)
    std = "n/a" if math.isnan(s["std"]) else f"{s['std']:.2f}"
    return f"{name}: {s['mean']:.2f} ± {std} (n = {s['n']})"


def _untestable(cmp: dict) -> bool:
    """No test possible: a side has fewer than two seeds (no variance estimate)."""
    return math.isnan(cmp["p"])


NO_TEST = "fewer than two seeds on a side: no variance, no test"


def _outperforms(cmp: dict, margin: float = 0.0) -> bool:
    return cmp["diff"] > 0 and cmp["diff"] >= margin and cmp["p"] < ALPHA


def _claim(number: int, verdict: str, reason: str, evidence: list[str], test: str, task: str | None = None, **numbers) -> dict:
    return {"id": number, "claim": CLAIMS[number], "verdict": verdict, "reason": reason, "task": task,
            "evidence": evidence, "test": test, "numbers": numbers}


WELCH = f"Welch's t-test (two-sided) on per-seed language-averaged scores, α = {ALPHA}"


def _combine(parts: list[tuple[str | None, str]]) -> tuple[str, str]:
    """Verdict of a conjunction from (part verdict or None = untestable, reason) pairs."""
    reasons = "; ".join(r for _, r in parts)
    if any(v == NOT_SUPPORTED for v, _ in parts):
        return NOT_SUPPORTED, reasons
    if any(v is None for v, _ in parts):
        return NOT_TESTABLE, reasons
    return SUPPORTED, reasons


def _claim_1(d: _Data) -> dict:
    tasks = [t for t in d.tasks if d.has(t, ZS, "tlm", "base")]
    if not tasks:
        return _claim(1, NOT_TESTABLE, "needs the `tlm` and `base` arms in the zero-shot setting", [], WELCH)
    parts, evidence = [], []
    for task in tasks:
        cmp = stats.compare(d.scores(task, ZS, "tlm"), d.scores(task, ZS, "base"))
        ok = _outperforms(cmp, LARGE_MARGIN)
        evidence.append(f"`{task}`: " + _cmp_line("tlm", "base", cmp, "zero-shot avg"))
        if _untestable(cmp):
            parts.append((None, f"`{task}`: {NO_TEST}"))
        elif ok:
            parts.append((SUPPORTED, f"`{task}`: tlm beats base by {cmp['diff']:+.2f} ≥ {LARGE_MARGIN} points, p {_p(cmp['p'])}"))
        else:
            why = "difference below the large-margin threshold" if cmp["diff"] < LARGE_MARGIN else "not significant"
            parts.append((NOT_SUPPORTED, f"`{task}`: {cmp['diff']:+.2f} points, p {_p(cmp['p'])} ({why})"))
    verdict, reason = _combine(parts)
    return _claim(1, verdict, reason, evidence, f"{WELCH}; large margin = difference ≥ {LARGE_MARGIN} points and significant", ", ".join(tasks))


def _claim_2(d: _Data) -> dict:
    tasks = [t for t in d.tasks if d.has(t, TT, "tlm", "base")]
    if not tasks:
        ran = any(TT in d.settings(t) for t in d.tasks)
        why = "the `tlm` and `base` arms were not both fine-tuned in translate-train" if ran else "the translate-train setting was not run"
        return _claim(2, NOT_TESTABLE, why, [], WELCH)
    parts, evidence = [], []
    for task in tasks:
        cmp = stats.compare(d.scores(task, TT, "tlm"), d.scores(task, TT, "base"))
        evidence.append(f"`{task}`: " + _cmp_line("tlm", "base", cmp, "translate-train avg"))
        if _untestable(cmp):
            parts.append((None, f"`{task}`: {NO_TEST}"))
        elif cmp["diff"] < 0 and cmp["p"] < ALPHA:
            parts.append((SUPPORTED, f"`{task}`: tlm is {cmp['diff']:+.2f} points below base, p {_p(cmp['p'])}"))
        elif cmp["diff"] < 0:
            parts.append((NOT_SUPPORTED, f"`{task}`: tlm is lower ({cmp['diff']:+.2f}) but not significantly (p {_p(cmp['p'])})"))
        else:
            parts.append((NOT_SUPPORTED, f"`{task}`: tlm is not lower than base ({cmp['diff']:+.2f} points, p {_p(cmp['p'])})"))
    verdict, reason = _combine(parts)
    return _claim(2, verdict, reason, evidence, f"{WELCH}; 'not as good' = negative difference, significant", ", ".join(tasks))


def _claim_3(d: _Data) -> dict:
    parts, evidence = [], []
    for setting, label in ((ZS, "zero-shot"), (TT, "translate-train")):
        tasks = [t for t in d.tasks if d.has(t, setting, "weam", "base")]
        if not tasks:
            parts.append((None, f"{label}: no `weam` and `base` scores (setting not run or arm missing)"))
            continue
        for task in tasks:
            cmp = stats.compare(d.scores(task, setting, "weam"), d.scores(task, setting, "base"))
            evidence.append(f"`{task}`: " + _cmp_line("weam", "base", cmp, f"{label} avg"))
            if d.has(task, setting, "mlm"):
                ctrl = stats.compare(d.scores(task, setting, "weam"), d.scores(task, setting, "mlm"))
                evidence.append(f"`{task}` (control, not part of the verdict): " + _cmp_line("weam", "mlm", ctrl, f"{label} avg"))
            ok = _outperforms(cmp)
            if _untestable(cmp):
                parts.append((None, f"{label} `{task}`: {NO_TEST}"))
                continue
            parts.append((SUPPORTED if ok else NOT_SUPPORTED,
                          f"{label} `{task}`: weam − base = {cmp['diff']:+.2f}, p {_p(cmp['p'])}{'' if ok else ' (not a significant gain)'}"))
    verdict, reason = _combine(parts)
    return _claim(3, verdict, reason, evidence, f"{WELCH}; both conjuncts (zero-shot gain, translate-train gain over base) needed")


def _claim_4(d: _Data) -> dict:
    task, note = d.sentence_task()
    test = (f"{WELCH}; similar = both improve on base (positive, p < {ALPHA}), |tlm − word_aligned| ≤ "
            f"{SIMILAR_MARGIN} points and not significantly different")
    if task is None or not d.has(task, ZS, "tlm", "word_aligned", "base"):
        return _claim(4, NOT_TESTABLE, "needs the `tlm`, `word_aligned` and `base` arms (zero-shot) on a sentence-classification task",
                      [note] if note else [], test, task)
    tlm, wa, base = (d.scores(task, ZS, o) for o in ("tlm", "word_aligned", "base"))
    c_tlm, c_wa, c_pair = stats.compare(tlm, base), stats.compare(wa, base), stats.compare(tlm, wa)
    evidence = ([note] if note else []) + [
        _cmp_line("tlm", "base", c_tlm, "zero-shot avg"),
        _cmp_line("word_aligned", "base", c_wa, "zero-shot avg"),
        _cmp_line("tlm", "word_aligned", c_pair, "zero-shot avg"),
    ]
    improve = all(c["diff"] > 0 and c["p"] < ALPHA for c in (c_tlm, c_wa))
    if improve and _untestable(c_pair):
        return _claim(4, NOT_TESTABLE, NO_TEST, evidence, test, task)
    similar = abs(c_pair["diff"]) <= SIMILAR_MARGIN and not c_pair["p"] < ALPHA
    if improve and similar:
        verdict = SUPPORTED
        reason = (f"both improve on base ({c_tlm['diff']:+.2f}, {c_wa['diff']:+.2f}) and differ by "
                  f"{c_pair['diff']:+.2f} points (p {_p(c_pair['p'])}; MDD {c_pair['mdd']:.2f})")
    elif not improve:
        verdict = NOT_SUPPORTED
        reason = (f"not both significant improvements over base (tlm {c_tlm['diff']:+.2f}, p {_p(c_tlm['p'])}; "
                  f"word_aligned {c_wa['diff']:+.2f}, p {_p(c_wa['p'])})")
    else:
        verdict = NOT_SUPPORTED
        reason = (f"the improvements differ: tlm − word_aligned = {c_pair['diff']:+.2f} points, p {_p(c_pair['p'])} "
                  f"(similar needs ≤ {SIMILAR_MARGIN} and p ≥ {ALPHA})")
    return _claim(4, verdict, reason, evidence, test, task, diff=c_pair["diff"], p=c_pair["p"])


def _claim_5(d: _Data) -> dict:
    task, note = d.sentence_task()
    test = f"{WELCH}; both comparisons must be positive and significant"
    if task is None or not d.has(task, ZS, "weam"):
        return _claim(5, NOT_TESTABLE, "needs the `weam` arm (zero-shot) on a sentence-classification task", [note] if note else [], test, task)
    parts, evidence = [], [note] if note else []
    for other in ("tlm", "word_aligned"):
        if not d.has(task, ZS, other):
            parts.append((None, f"no `{other}` arm"))
            continue
        cmp = stats.compare(d.scores(task, ZS, "weam"), d.scores(task, ZS, other))
        evidence.append(_cmp_line("weam", other, cmp, "zero-shot avg"))
        ok = _outperforms(cmp)
        if _untestable(cmp):
            parts.append((None, f"weam vs {other}: {NO_TEST}"))
            continue
        parts.append((SUPPORTED if ok else NOT_SUPPORTED, f"weam − {other} = {cmp['diff']:+.2f}, p {_p(cmp['p'])}"))
    if d.has(task, TT, "weam", "tlm", "word_aligned"):
        for other in ("tlm", "word_aligned"):
            cmp = stats.compare(d.scores(task, TT, "weam"), d.scores(task, TT, other))
            evidence.append("(translate-train, not part of the verdict) " + _cmp_line("weam", other, cmp, "translate-train avg"))
    verdict, reason = _combine(parts)
    return _claim(5, verdict, reason, evidence, test, task)


def _claim_6(d: _Data) -> dict:
    task, note = d.sentence_task()
    test = (f"slightly lower but close = weam zero-shot < weam translate-train by at most {CLOSE_MARGIN} points, "
            "averaged over the languages both settings test (Welch p reported, not required)")
    if task is None or not d.has(task, ZS, "weam"):
        return _claim(6, NOT_TESTABLE, "needs the `weam` arm on a sentence-classification task", [note] if note else [], test, task)
    if not d.has(task, TT, "weam"):
        return _claim(6, NOT_TESTABLE, "the translate-train setting was not run for `weam`", [note] if note else [], test, task)
    langs = [lang for lang in d.langs(task, TT) if lang in d.langs(task, ZS)]
    if not langs:
        return _claim(6, NOT_TESTABLE, "zero-shot and translate-train share no test language", [note] if note else [], test, task)
    zs, tt = d.scores(task, ZS, "weam", langs), d.scores(task, TT, "weam", langs)
    cmp = stats.compare(zs, tt)
    evidence = ([note] if note else []) + [
        f"languages: {', '.join(langs)}",
        _mean_line("weam zero-shot", zs),
        _mean_line("weam translate-train", tt),
        _cmp_line("zero-shot", "translate-train", cmp, "weam, avg over shared languages"),
    ]
    gap = -cmp["diff"]
    if cmp["diff"] < 0 and gap <= CLOSE_MARGIN:
        verdict, reason = SUPPORTED, f"zero-shot is {gap:.2f} points below translate-train (≤ {CLOSE_MARGIN})"
    elif cmp["diff"] >= 0:
        verdict, reason = NOT_SUPPORTED, f"zero-shot is not lower than translate-train ({cmp['diff']:+.2f} points)"
    else:
        verdict, reason = NOT_SUPPORTED, f"zero-shot is {gap:.2f} points below translate-train (> {CLOSE_MARGIN}: not close)"
    return _claim(6, verdict, reason, evidence, test, task, gap=gap)


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
    evidence.append("WEAM loss: multilingual prediction + λ × cross-lingual prediction on swapped representations — by construction")
    test = "configuration comparison with the paper's reported settings (exact match)"
    if deviations:
        return _claim(7, NOT_TESTABLE,
                      f"this configuration deviates from the reported settings in {', '.join(deviations)}: "
                      "results here are not a test of the paper's configuration", evidence, test,
                      deviations=deviations)
    if unknown:
        return _claim(7, NOT_TESTABLE, f"settings not given to the judge: {', '.join(unknown)}", evidence, test)
    return _claim(7, SUPPORTED, "this run uses the settings the paper reports", evidence, test)


def _claim_8(d: _Data) -> dict:
    test = (f"{WELCH} on the per-seed zero-shot accuracy averaged over languages and tasks; robustness: "
            "worst-language mean score not lower than the MLM control's in every task (seed std and transfer gap reported)")
    tasks = [t for t in d.tasks if d.has(t, ZS, "contrastive", "mlm")]
    if not tasks:
        return _claim(8, NOT_TESTABLE, "needs the `contrastive` and `mlm` arms in the zero-shot setting", [], test)
    avg = R.cross_task_average(d.df, ZS, tasks)
    con = [float(v) for v in avg.loc["contrastive"]["mean"] if not pd.isna(v)]
    mlm = [float(v) for v in avg.loc["mlm"]["mean"] if not pd.isna(v)]
    cmp = stats.compare(con, mlm)
    evidence = [
        f"tasks: {', '.join(tasks)} (metric: {', '.join(d.prim[t] for t in tasks)})",
        _mean_line("contrastive, average over tasks and languages", con),
        _mean_line("mlm, average over tasks and languages", mlm),
        _cmp_line("contrastive", "mlm", cmp, "zero-shot average over tasks"),
    ]
    robust = True
    for task in tasks:
        mat = d.matrix(task, ZS)
        langs = d.langs(task, ZS)
        worst = {}
        for arm in ("contrastive", "mlm"):
            means = mat.loc[arm][langs].mean(axis=0)
            worst[arm] = (means.idxmin(), float(means.min()))
            line = f"`{task}` {arm}: worst language {worst[arm][0]} {worst[arm][1]:.2f}, seed std of avg {stats.summarize(d.scores(task, ZS, arm))['std']:.2f}"
            if "en" in langs and len(langs) > 1:
                xx = [lang for lang in langs if lang != "en"]
                line += f", transfer gap en − avg_xx {float(means['en'] - means[xx].mean()):.2f}"
            evidence.append(line)
        if worst["contrastive"][1] < worst["mlm"][1]:
            robust = False
    if _untestable(cmp):
        verdict, reason = NOT_TESTABLE, NO_TEST
    elif _outperforms(cmp) and robust:
        verdict, reason = SUPPORTED, f"contrastive beats mlm by {cmp['diff']:+.2f} points (p {_p(cmp['p'])}) and its worst language is not worse"
    elif _outperforms(cmp):
        verdict, reason = NOT_SUPPORTED, f"higher average ({cmp['diff']:+.2f}, p {_p(cmp['p'])}) but a worse worst-language score: not more robust"
    else:
        verdict, reason = NOT_SUPPORTED, f"no significant gain in average accuracy ({cmp['diff']:+.2f} points, p {_p(cmp['p'])})"
    return _claim(8, verdict, reason, evidence, test, ", ".join(tasks), diff=cmp["diff"], p=cmp["p"])


def judge_claims(df_or_tables, config_summary: dict) -> list[dict]:
    """Verdicts for claims 1–8: ``[{"id", "claim", "verdict", "reason", "task", "evidence", "test", "numbers"}]``.

    ``df_or_tables``: the dict :func:`alignxfer.results.gather` returns, the tidy metrics
    DataFrame, or the path of ``all_metrics.csv``. ``config_summary``: learning_rate,
    batch_size, max_length, weam_mask_prob, weam_lambda (and optionally seeds, symmetrization).
    """
    d = _Data(_to_frame(df_or_tables))
    config_summary = dict(config_summary or {})
    return [_claim_1(d), _claim_2(d), _claim_3(d), _claim_4(d), _claim_5(d), _claim_6(d),
            _claim_7(config_summary), _claim_8(d)]


def render_claims(claims: list[dict], config_summary: dict | None = None) -> str:
    out = [
        "# Claims of the WEAM study, judged on this run",
        "",
        "Verdicts: **supported**, **not supported**, **not testable in this configuration**. "
        "Scores are the task's primary metric in points, averaged over test languages per seed; the unit of "
        "replication is the fine-tuning seed.",
        "",
        "Decision rules: *outperforms / improves* = positive difference with Welch p < "
        f"{ALPHA}; *large margin* = additionally ≥ {LARGE_MARGIN} points; *not as good* = negative and p < {ALPHA}; "
        f"*similar* = both improve on the baseline (as above), |difference| ≤ {SIMILAR_MARGIN} point and p ≥ {ALPHA}; "
        f"*slightly lower but close* = lower by at most {CLOSE_MARGIN} points. With few seeds a non-significant "
        "difference is weak evidence either way: the minimal detectable difference (MDD, power 0.8) is given.",
        "",
    ]
    if config_summary and config_summary.get("seeds") is not None:
        out += [f"Fine-tuning seeds: {config_summary['seeds']}.", ""]
    if config_summary and config_summary.get("base"):
        out += [f"Base model: {config_summary['base']}", ""]
    out += [md_row(["#", "claim", "verdict"]), "|---|---|---|"]
    for c in claims:
        out.append(md_row([str(c["id"]), c["claim"], f"**{c['verdict']}**"]))
    out.append("")
    for c in claims:
        out += [f"## Claim {c['id']}", "", f"> {c['claim']}", "", f"**Verdict: {c['verdict']}** — {c['reason']}", ""]
        if c.get("task"):
            out += [f"Task(s): {c['task']}", ""]
        out += [f"- {line}" for line in c["evidence"]]
        out += ["", f"Test: {c['test']}.", ""]
    return "\n".join(out)


def md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def write_claims(df_or_tables, config_summary: dict, out_path) -> list[dict]:
    """Judge the claims and write ``claims.md`` (atomically); returns the verdicts."""
    claims = judge_claims(df_or_tables, config_summary)
    with atomic_open(out_path) as handle:
        handle.write(render_claims(claims, config_summary))
    return claims
