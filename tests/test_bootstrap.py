"""The paired hierarchical bootstrap (alignxfer.stats.Bootstrap, alignxfer.results.Comparator), the
verdict rules of alignxfer.claims and Holm's correction, on constructed metric and predictions files."""

import json
import math

import numpy as np
import pytest
from scipy import stats as st

from alignxfer import claims as C
from alignxfer import report as REP
from alignxfer import results as R
from alignxfer import stats as S
from tests.helpers_metrics import write_metric, write_study

ZS = {  # per-seed accuracies (points), seeds 1-3
    "base": {"en": [80, 81, 79], "de": [50, 52, 48]},
    "mlm": {"en": [81, 80, 79], "de": [51, 50, 52]},
    "tlm": {"en": [84, 85, 83], "de": [60, 61, 59]},
}


def _cmp(low, high, low90=None, high90=None, n_runs=3):
    low90 = low if low90 is None else low90
    high90 = high if high90 is None else high90
    return {
        "diff": (low + high) / 2,
        "ci_low": low,
        "ci_high": high,
        "ci90_low": low90,
        "ci90_high": high90,
        "p": 0.5,
        "mde": 1.0,
        "n_runs": n_runs,
    }


def _write_predictions(metric_path, correct: list[int]):
    """Predictions beside ``metric_path`` (document ids d0, d1, …) and the metric file's accuracy set to match."""
    path = R.predictions_path(metric_path)
    path.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "gold": "a", "pred": "a" if c else "b", "correct": c}) + "\n"
            for i, c in enumerate(correct)
        )
    )
    rec = json.loads(metric_path.read_text())
    rec["metrics"] = {"accuracy": sum(correct) / len(correct), "macro_f1": 0.0}
    rec["n"] = len(correct)
    metric_path.write_text(json.dumps(rec))


# --------------------------------------------------------------------------- the verdict rules


def test_ci_spanning_zero_and_the_claimed_effect_is_inconclusive():
    wide = _cmp(-1.12, 3.03)  # the tlm − base against a 2-point large margin
    assert C.rule_greater(wide, 2.0) == C.INCONCLUSIVE
    assert C.rule_greater(wide) == C.INCONCLUSIVE
    assert C.rule_greater(_cmp(2.1, 4.0), 2.0) == C.SUPPORTED
    assert C.rule_greater(_cmp(-3.0, 1.9), 2.0) == C.CONTRADICTED  # the whole CI below the margin
    assert C.rule_greater(_cmp(0.2, 1.9)) == C.SUPPORTED  # a gain, just not a large one
    assert C.rule_greater(_cmp(-2.0, 0.0)) == C.CONTRADICTED
    assert C.rule_less(_cmp(-3.0, -0.1)) == C.SUPPORTED and C.rule_less(_cmp(-1.0, 1.0)) == C.INCONCLUSIVE
    assert C.rule_less(_cmp(0.0, 2.0)) == C.CONTRADICTED
    assert C.rule_greater(_cmp(1.0, 2.0, n_runs=1)) is None  # one seed: no test
    assert C._combine([(C.SUPPORTED, ""), (C.INCONCLUSIVE, "")])[0] == C.INCONCLUSIVE
    assert C._combine([(C.INCONCLUSIVE, ""), (None, "")])[0] == C.NOT_TESTABLE
    assert C._combine([(None, ""), (C.CONTRADICTED, "")])[0] == C.CONTRADICTED


def test_equivalence_margin_inside_the_ci_is_not_similar():
    # the constructed case: a CI of [−3.0, +2.7] around a ±1-point margin
    assert C.rule_equivalent(_cmp(-3.0, 2.7, -2.5, 2.2), 1.0) == C.INCONCLUSIVE
    assert C.rule_equivalent(_cmp(-0.9, 0.95, -0.7, 0.8), 1.0) == C.SUPPORTED  # 90% CI inside ±1 (TOST)
    assert C.rule_equivalent(_cmp(-1.2, 0.95, -0.9, 0.8), 1.0) == C.SUPPORTED  # only the 90% CI counts
    assert C.rule_equivalent(_cmp(1.5, 3.0), 1.0) == C.CONTRADICTED  # surely farther apart than the margin
    assert C.rule_close_below(_cmp(-1.8, -0.2, -1.5, -0.4), 2.0) == C.SUPPORTED
    assert C.rule_close_below(_cmp(-2.6, -0.2, -2.2, -0.4), 2.0) == C.INCONCLUSIVE
    assert (
        C.rule_close_below(_cmp(-5.0, -2.5), 2.0) == C.CONTRADICTED
        and C.rule_close_below(_cmp(0.0, 1.0), 2.0) == C.CONTRADICTED
    )


def test_noisy_but_equal_arms_are_not_judged_similar(tmp_path):
    # tlm and word_aligned both ~+9 over base (clear), equal on average, but seed noise of ±3 points
    # on their difference: the 90% CI is wider than the ±1 margin, so "similar" is inconclusive
    zs = {"base": ZS["base"], "tlm": ZS["tlm"], "word_aligned": {"en": [87, 82, 83], "de": [63, 58, 59]}}
    files = write_study(tmp_path, {"zero_shot": zs})
    c = {c["id"]: c for c in C.judge_claims(R.load_metrics(files), {})}[4]
    assert "tlm − base = +" in c["reason"] and "word_aligned − base = +" in c["reason"]
    assert c["reason"].count("→ supported") == 2
    assert c["verdict"] == C.INCONCLUSIVE and "equivalence ±1) = " in c["reason"]


# --------------------------------------------------------------------------- pairing


def test_paired_by_seed_detects_what_welch_cannot(tmp_path):
    # seed effects of ±10 points shared by both arms; the arm is +1 over base in every seed
    zs = {"base": {"en": [60, 70, 80]}, "tlm": {"en": [61, 71, 81]}}
    df = R.load_metrics(write_study(tmp_path, {"zero_shot": zs}))
    cmp = R.Comparator(df).compare("topic", "accuracy", ("zero_shot", "tlm"), ("zero_shot", "base"), ["en"])["avg"]
    assert cmp["diff"] == pytest.approx(1.0) and cmp["ci_low"] == pytest.approx(1.0) and cmp["p"] < 0.01
    assert st.ttest_ind([61, 71, 81], [60, 70, 80], equal_var=False).pvalue > 0.8  # unpaired: nothing


def test_paired_by_document_detects_what_unpaired_cannot(tmp_path):
    # one language, 600 documents, 3 seeds; base right on d0-d299, the arm on those and d300-d324
    # (+4.17 points). Paired by document the difference is 25 documents that flip one way.
    n = 600
    base = [1] * 300 + [0] * 300
    nested = [1] * 325 + [0] * 275
    rng = np.random.default_rng(0)
    shuffled = [int(v) for v in rng.permutation(nested)]  # same accuracy, unrelated documents
    files = {}
    for name, correct in (("base", base), ("tlm", nested), ("mlm", shuffled)):
        for seed in (1, 2, 3):
            path = write_metric(tmp_path, "topic", "zero_shot", name, "de", seed, 0.5)
            _write_predictions(path, correct)
            files.setdefault(name, []).append(path)
    df = R.load_metrics([p for paths in files.values() for p in paths])
    comp = R.Comparator(df)
    paired = comp.compare("topic", "accuracy", ("zero_shot", "tlm"), ("zero_shot", "base"), ["de"])["de"]
    unpaired = comp.compare("topic", "accuracy", ("zero_shot", "mlm"), ("zero_shot", "base"), ["de"])["de"]
    assert paired["docs"] == {"de": n} and paired["diff"] == pytest.approx(25 / 6)
    assert paired["ci_low"] > 0 and paired["p"] < 0.01
    assert unpaired["diff"] == pytest.approx(25 / 6)
    assert unpaired["ci_low"] < 0 and unpaired["p"] > 0.05
    # the textbook unpaired test agrees that the marginal accuracies alone cannot tell (p ≈ 0.15)
    z = (325 - 300) / n / math.sqrt(0.5 * 0.5 / n + (325 / n) * (275 / n) / n)
    assert 2 * st.norm.sf(z) > 0.05
    # the bootstrap SE of the paired difference is the per-document SE: sqrt(p(1-p)/n), p = 25/600
    q = 25 / n
    assert paired["se"] == pytest.approx(math.sqrt(q * (1 - q) / n) * 100, rel=0.1)


def test_stale_predictions_are_not_resampled(tmp_path):
    paths = []
    for name in ("base", "tlm"):
        for seed in (1, 2):
            path = write_metric(tmp_path, "topic", "zero_shot", name, "de", seed, 0.5 + 0.01 * seed)
            _write_predictions(path, [1, 0] * 50)
            paths.append(path)
    rec = json.loads(paths[0].read_text())
    rec["metrics"]["accuracy"] = 0.9  # the metric file no longer matches its predictions
    paths[0].write_text(json.dumps(rec))
    comp = R.Comparator(R.load_metrics(paths))
    out = comp.compare("topic", "accuracy", ("zero_shot", "tlm"), ("zero_shot", "base"), ["de"])
    assert out["de"]["docs"] == {"de": 0}  # fell back to the metric values
    assert any("differs from the metric file's accuracy" in note for note in comp.notes)


# --------------------------------------------------------------------------- Holm, determinism, seeds


def test_holm_changes_a_marginal_p():
    adjusted = S.holm([0.03, 0.01, 0.20, math.nan])
    assert adjusted[:3] == pytest.approx([0.06, 0.03, 0.20]) and math.isnan(adjusted[3])
    assert S.significance_mark(0.03) == "*" and S.significance_mark(adjusted[0]) == ""  # marginal: gone
    assert S.holm([0.04, 0.04]) == pytest.approx([0.08, 0.08])
    assert S.holm([0.5, 0.01]) == pytest.approx([0.5, 0.02])  # monotone and capped
    assert S.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0]) or S.holm([0.9, 0.8]) == pytest.approx([0.9, 0.9])


def test_fixed_seed_gives_identical_tables(tmp_path):
    files = write_study(tmp_path / "m", {"zero_shot": ZS})
    R.gather(files, tmp_path / "a")
    R.gather(files, tmp_path / "b")
    assert (tmp_path / "a" / "topic_zero_shot.csv").read_bytes() == (
        tmp_path / "b" / "topic_zero_shot.csv"
    ).read_bytes()
    R.gather(files, tmp_path / "c", boot_seed=7)
    assert (tmp_path / "a" / "topic_zero_shot.csv").read_bytes() != (
        tmp_path / "c" / "topic_zero_shot.csv"
    ).read_bytes()


def test_pretraining_seeds_are_a_level_of_the_hierarchy(tmp_path):
    # two pre-training runs per arm x 3 fine-tuning seeds; pre-training run 2 is 10 points better for
    # every arm (a shared effect), tlm is +2 over base in every run: paired, the CI is tight at +2
    paths = []
    for name, shift in (("base", 0.0), ("tlm", 2.0)):
        for pseed, level in ((1, 50.0), (2, 60.0)):
            for seed, noise in ((1, -1.0), (2, 0.0), (3, 1.0)):
                path = write_metric(
                    tmp_path / f"p{pseed}", "topic", "zero_shot", name, "de", seed, (level + noise + shift) / 100
                )
                rec = json.loads(path.read_text())
                rec["pretrain_seed"] = pseed
                path.write_text(json.dumps(rec))
                paths.append(path)
    df = R.load_metrics(paths)
    assert R.seed_matrix(df, "topic", "zero_shot", "accuracy").index.nlevels == 3
    out = R.Comparator(df).compare("topic", "accuracy", ("zero_shot", "tlm"), ("zero_shot", "base"), ["de"])["avg"]
    assert out["n_runs"] == 6 and out["n_pretrain"] == 2
    assert (
        out["diff"] == pytest.approx(2.0)
        and out["ci_low"] == pytest.approx(2.0)
        and out["ci_high"] == pytest.approx(2.0)
    )
    # the seed weights: 2 pre-training seeds drawn, 3 fine-tuning seeds within each; rows sum to 1
    w = S.Bootstrap(500).seed_weights(2, 3)
    assert w.shape == (500, 6) and np.allclose(w.sum(axis=1), 1.0)
    # whole pre-training runs are drawn: some replicates use only one of the two
    assert ((w[:, :3].sum(axis=1) == 0) | (w[:, 3:].sum(axis=1) == 0)).any()


def _nested_study(root, arms: dict) -> list:
    """The default study's design: ``base`` trained once (pre-training seed 13) and fine-tuned with
    seeds 1-3; each arm's fine-tuning seed i continues its pre-training seed 12 + i."""
    paths = []
    for name, scores in arms.items():
        for seed, value in zip((1, 2, 3), scores):
            path = write_metric(root, "topic", "zero_shot", name, "de", seed, value / 100)
            rec = json.loads(path.read_text())
            rec["pretrain_seed"] = 13 if name == "base" else 12 + seed
            path.write_text(json.dumps(rec))
            paths.append(path)
    return paths


def test_nested_pretraining_seeds_pair_by_finetuning_seed(tmp_path):
    # seed 2 is 10 points better in every arm (shared head initialisation and batch order); mlm is
    # +2 over base and tlm +1 over mlm in every fine-tuning seed: paired by fine-tuning seed the
    # differences are exact, although no (pretrain_seed, seed) key but (13, 1) is shared with base
    df = R.load_metrics(_nested_study(tmp_path, {"base": [50, 60, 52], "mlm": [52, 62, 54], "tlm": [53, 63, 55]}))
    cmp = R.Comparator(df, S.Bootstrap(500))
    vs_base = cmp.compare("topic", "accuracy", ("zero_shot", "mlm"), ("zero_shot", "base"), ["de"])["avg"]
    assert vs_base["n_runs"] == 3 and vs_base["paired_seeds"]
    assert vs_base["diff"] == pytest.approx(2.0) and vs_base["ci_low"] == pytest.approx(2.0)
    vs_mlm = cmp.compare("topic", "accuracy", ("zero_shot", "tlm"), ("zero_shot", "mlm"), ["de"])["avg"]
    assert vs_mlm["n_runs"] == 3 and vs_mlm["n_pretrain"] == 3
    assert vs_mlm["ci_low"] == pytest.approx(1.0) and vs_mlm["ci_high"] == pytest.approx(1.0)
    # unpaired, the 10-point seed effect would swamp a 1-point difference
    assert (
        cmp.replicates("topic", "accuracy", [("zero_shot", "tlm"), ("zero_shot", "mlm")], ["de"])["design"] == "nested"
    )


def test_nested_design_gives_claims_a_test(tmp_path):
    df = R.load_metrics(_nested_study(tmp_path, {"base": [50, 60, 52], "mlm": [50, 61, 52], "tlm": [55, 64, 57]}))
    cmp = R.Comparator(df, S.Bootstrap(500))
    out = cmp.compare("topic", "accuracy", ("zero_shot", "tlm"), ("zero_shot", "base"), ["de"])["avg"]
    assert C.rule_greater(out, 2.0) == C.SUPPORTED  # +4..+5 in every paired seed
    assert (
        C.rule_greater(
            cmp.compare("topic", "accuracy", ("zero_shot", "mlm"), ("zero_shot", "base"), ["de"])["avg"], 2.0
        )
        == C.CONTRADICTED
    )  # 0..+1: never 2 points


# --------------------------------------------------------------------------- baselines, settings, report


def _baseline(root, task, name, lang, accuracy):
    path = root / task / "baselines" / name / f"{lang}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "task": task,
                "setting": "zero_shot",
                "baseline": name,
                "lang": lang,
                "n": 100,
                "metrics": {"accuracy": accuracy, "macro_f1": accuracy / 2},
            }
        )
    )
    return path


def test_baselines_are_rows_and_new_settings_are_tables(tmp_path):
    files = write_study(tmp_path / "metrics", {"zero_shot": ZS, "zero_shot_delex": ZS, "probe": ZS})
    baselines = [
        _baseline(tmp_path / "metrics", "topic", "tfidf", "en", 0.9),
        _baseline(tmp_path / "metrics", "topic", "tfidf", "de", 0.3),
    ]
    out = R.gather(files + baselines, tmp_path / "tables", baseline_files=[tmp_path / "absent.json"])
    text = (tmp_path / "tables" / "topic_zero_shot.md").read_text()
    assert "| *baseline: tfidf* | 90.0 | 30.0 | 60.0 | 30.0 |" in text
    assert "baseline: tfidf" not in (tmp_path / "tables" / "topic_probe.md").read_text()  # another setting
    assert {"topic/zero_shot", "topic/zero_shot_delex", "topic/probe"} <= set(out["tables"])
    assert "tfidf" not in set(out["metrics"]["objective"])  # never an arm
    assert C.judge_claims(out, {})[0]["verdict"] == C.SUPPORTED  # claims unaffected by the baseline files
    # without any baseline file the same tables are written
    R.gather(files, tmp_path / "plain")
    assert "baseline:" not in (tmp_path / "plain" / "topic_zero_shot.md").read_text()
    stems = REP.table_stems(str(f) for f in files + baselines)
    assert stems == [
        "topic_zero_shot",
        "topic_zero_shot_macro_f1",
        "topic_zero_shot_delex",
        "topic_zero_shot_delex_macro_f1",
        "topic_probe",
        "topic_probe_macro_f1",
    ]


def test_declared_tables_without_data_say_so_and_html_pages(tmp_path):
    files = write_study(tmp_path / "metrics", {"zero_shot": ZS})
    R.gather(
        files, tmp_path / "tables", expected_tables=["topic_zero_shot", "xnli_zero_shot"], html_dir=tmp_path / "html"
    )
    assert "No metric files for this table" in (tmp_path / "tables" / "xnli_zero_shot.md").read_text()
    assert (tmp_path / "tables" / "xnli_zero_shot.csv").exists()
    page = (tmp_path / "html" / "topic_zero_shot.html").read_text()
    assert (
        "<table>" in page
        and '<td style="text-align:right">80.0 ± 1.0</td>' in page
        and page.startswith("<!DOCTYPE html>")
    )
    assert (tmp_path / "html" / "summary.html").exists()


def test_table_metrics_match_the_task_plugins():
    from alignxfer.tasks import TASKS

    assert REP.table_metrics("topic") == ("accuracy", ("accuracy", "macro_f1"))
    assert REP.table_metrics("mlqa") == ("f1", ("f1", "exact_match"))
    for name, spec in TASKS.items():
        task = spec.load()()
        assert REP.table_metrics(name) == (task.primary_metric, tuple(task.metric_names)), name


def test_overview_rst_renders(tmp_path):
    from docutils.core import publish_parts

    files = write_study(tmp_path / "metrics", {"zero_shot": ZS})
    out = R.gather(files, tmp_path / "tables")
    claims = C.judge_claims(out, {})
    text = REP.overview_rst(claims, R.headline_rows(out["tables"]), "note")
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})["html_body"]
    assert "Headline result" in html and "<td>tlm</td>" in html and "<td>+7.0</td>" in html
    assert "<td>supported</td>" in html and "<td>not testable in this configuration</td>" in html
    assert html.count("<tr>") >= 1 + 3 + 1 + 8


def test_retrieval_baseline_is_a_row(tmp_path):
    from tests.helpers_metrics import write_retrieval

    files = [
        write_retrieval(tmp_path / "m", arm, lang, 0.5 + i / 10, 0.4)
        for i, arm in enumerate(("base", "mlm"))
        for lang in ("de", "ja")
    ]
    path = tmp_path / "m" / "retrieval" / "baselines" / "string_match" / "de.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "task": "retrieval",
                "baseline": "string_match",
                "lang": "de",
                "n": 100,
                "metrics": {"p@1_xx_en": 0.678, "p@1_en_xx": 0.6},
            }
        )
    )
    out = R.gather(files + [path], tmp_path / "tables")
    text = (tmp_path / "tables" / "retrieval.md").read_text()
    assert "| *baseline: string_match* | 67.8 | – | – |" in text
    assert "string_match" not in set(out["tables"]["retrieval"]["objective"])
