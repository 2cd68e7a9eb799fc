"""alignxfer.claims: verdicts of docs/research.md §1's claims on constructed metric files (supported,
contradicted, inconclusive, not testable), with the numbers in the verdict texts checked against the
bootstrap comparisons and against hand values."""

import numpy as np
import pandas as pd
import pytest

from alignxfer import claims as C
from alignxfer import results as R
from tests.helpers_metrics import write_metric, write_study

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
NOT_TESTABLE = "not testable in this configuration"
PAPER = {"learning_rate": 5e-5, "batch_size": 32, "max_length": 128, "weam_mask_prob": 0.3, "weam_lambda": 1.0}

# Zero-shot, per-seed accuracies (points), languages en, de, fr. Per-seed averages over the three:
#   base         61.667 62.000 60.333   (mean 61.333)
#   mlm          62.000 61.667 62.333   (mean 62.0)
#   tlm          68.667 69.667 67.667   (mean 68.667: +7.33 over base)
#   weam         72.000 72.333 71.667   (mean 72.0: +3.33 over tlm, +3.22 over word_aligned)
#   word_aligned 68.667 70.000 67.667   (mean 68.778: tlm − word_aligned = 0, −0.33, 0: "similar" within ±1)
#   contrastive  66.667 67.000 66.333   (+4.67 over mlm; worst language de 57 vs mlm's 51)
ZS = {
    "base": {"en": [80, 81, 79], "de": [50, 52, 48], "fr": [55, 53, 54]},
    "mlm": {"en": [81, 80, 79], "de": [51, 50, 52], "fr": [54, 55, 56]},
    "tlm": {"en": [84, 85, 83], "de": [60, 61, 59], "fr": [62, 63, 61]},
    "weam": {"en": [85, 86, 84], "de": [65, 64, 66], "fr": [66, 67, 65]},
    "word_aligned": {"en": [84, 85, 83], "de": [60, 61, 59], "fr": [62, 64, 61]},
    "contrastive": {"en": [83, 84, 82], "de": [57, 58, 56], "fr": [60, 59, 61]},
}
# Translate-train (de, fr). Per-seed averages:
#   base 63, 64, 62 (mean 63); tlm 59, 59.5, 59 (mean 59.167: −3.83, "not as good");
#   weam 66.5 every seed (+3.5)
# weam zero-shot on (de, fr): 65.5 every seed -> 1 point below its translate-train 66.5: "close"
TT = {
    "base": {"de": [62, 63, 61], "fr": [64, 65, 63]},
    "tlm": {"de": [58, 59, 57], "fr": [60, 60, 61]},
    "weam": {"de": [66, 67, 66], "fr": [67, 66, 67]},
}


def _avg(arm: dict, langs=None) -> list[float]:
    langs = langs or list(arm)
    return list(np.mean([arm[lang] for lang in langs], axis=0))


def _boot(files_or_df, task, a, b, langs):
    """The comparison the claims use, straight from the comparator (average over ``langs``)."""
    df = files_or_df if isinstance(files_or_df, pd.DataFrame) else R.load_metrics(files_or_df)
    return R.Comparator(df).compare(task, "accuracy", a, b, langs)["avg"]


def _judge(tmp_path, scores: dict, task: str = "topic", config=PAPER, gather: bool = False) -> dict:
    """Write the metric files, judge the claims (from gather's result, as the workflow does, or
    from the tidy table alone, which is faster) and write ``tables/claims.md``."""
    files = write_study(tmp_path / "metrics", scores, task=task)
    source = R.gather(files, tmp_path / "tables") if gather else R.load_metrics(files)
    verdicts = C.write_claims(source, config, tmp_path / "tables" / "claims.md")
    return {c["id"]: c for c in verdicts}


def _text(claim: dict) -> str:
    return claim["reason"] + "\n" + "\n".join(claim["evidence"])


@pytest.fixture(scope="module")
def supported_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("supported")
    return _judge(root, {"zero_shot": ZS, "translate_train": TT}, gather=True), root


@pytest.fixture
def supported(supported_run):
    return supported_run[0]


# --------------------------------------------------------------------------- a run where the claims hold


def test_claim_1_supported_with_its_numbers(supported_run):
    supported, root = supported_run
    c = supported[1]
    assert c["verdict"] == SUPPORTED and c["task"] == "topic"
    cmp = _boot(
        pd.read_csv(root / "tables" / "all_metrics.csv").astype({"seed": "Int64", "pretrain_seed": "Int64"}),
        "topic",
        ("zero_shot", "tlm"),
        ("zero_shot", "base"),
        ["en", "de", "fr"],
    )
    assert cmp["diff"] == pytest.approx(22 / 3)  # 68.667 − 61.333
    assert cmp["ci_low"] >= 2.0  # the whole CI above the large margin
    line = c["evidence"][0]
    assert (
        f"tlm − base (zero-shot avg) = {cmp['diff']:+.2f} points, 95% CI [{cmp['ci_low']:+.2f}, {cmp['ci_high']:+.2f}]"
        in line
    )
    assert "n = 3 paired runs" in line and "resampled: seeds only" in line
    assert c["control_verdict"] == SUPPORTED  # tlm − mlm is also above 2 points
    assert any(m.startswith("`topic` tlm − base: ") for m in c["mde"])


def test_claim_2_supported(supported):
    c = supported[2]
    assert c["verdict"] == SUPPORTED
    assert "`topic` tlm − base = -3.83 [" in c["reason"] and c["reason"].endswith("→ supported")


def test_claim_3_supported_with_the_control_beside(supported):
    c = supported[3]
    assert c["verdict"] == SUPPORTED
    assert "zero-shot `topic` weam − base = +10.67" in c["reason"]
    assert "translate-train `topic` weam − base = +3.50" in c["reason"]
    # the MLM control is reported but not part of the verdict
    assert any("control, not part of the verdict" in line for line in c["evidence"])
    assert c["control_verdict"] == SUPPORTED


def test_claim_4_supported_on_topic_as_a_stand_in(supported):
    c = supported[4]
    assert c["verdict"] == SUPPORTED and c["task"] == "topic"
    assert "stand-in for XNLI" in c["evidence"][0]
    assert c["numbers"]["diff"] == pytest.approx(-1 / 9)
    assert "tlm − word_aligned (equivalence ±1) = -0.11" in c["reason"]


def test_claim_4_needs_improvements(tmp_path):
    # tlm and word_aligned both ~1.5 points above base and alike, but with noisy seeds: the
    # improvements' CIs span 0 and the claimed gain: inconclusive, not supported
    def noisy(shift):
        return {lang: [v + shift + d for v, d in zip(values, (-4, 0, 4))] for lang, values in ZS["base"].items()}

    zs = {"base": ZS["base"], "tlm": noisy(1.5), "word_aligned": noisy(1.4)}
    c = _judge(tmp_path, {"zero_shot": zs})[4]
    assert c["verdict"] == INCONCLUSIVE
    assert "tlm − base = +1.50" in c["reason"] and "→ inconclusive" in c["reason"]


def test_claim_5_follows_both_comparisons(supported):
    c = supported[5]
    assert "stand-in for XNLI" in c["evidence"][0]
    assert c["verdict"] == SUPPORTED
    assert "weam − tlm = +3.33" in c["reason"] and "weam − word_aligned = +3.22" in c["reason"]


def test_claim_6_supported_on_shared_languages(supported):
    c = supported[6]
    assert c["verdict"] == SUPPORTED
    assert "stand-in for XNLI" in c["evidence"][0]
    assert "languages: de, fr" in c["evidence"]
    assert c["numbers"]["gap"] == pytest.approx(1.0)
    assert "weam zero-shot − translate-train = -1.00 [-1.00, -1.00] → supported" in c["reason"]


def test_claim_7_settings(supported, tmp_path):
    assert C.PAPER_SETTINGS["weam_mask_prob"] == (0.3, False)  # reported, unverified
    assert supported[7]["verdict"] == SUPPORTED
    other = C.judge_claims(_frame(tmp_path), {**PAPER, "weam_mask_prob": 0.15})
    assert other[6]["verdict"] == NOT_TESTABLE and "weam_mask_prob" in other[6]["reason"]
    missing = C.judge_claims(_frame(tmp_path), {})
    assert missing[6]["verdict"] == NOT_TESTABLE and "not given" in missing[6]["reason"]


def _frame(tmp_path):
    return R.load_metrics(write_study(tmp_path / "m7", {"zero_shot": {"base": ZS["base"], "tlm": ZS["tlm"]}}))


def test_claim_8_supported(supported):
    c = supported[8]
    assert c["verdict"] == SUPPORTED
    assert c["numbers"]["diff"] == pytest.approx(14 / 3)
    assert "contrastive − mlm (average) = +4.67" in c["reason"]
    assert "`topic` contrastive: worst language de 57.00" in _text(c)
    assert "`topic` mlm: worst language de 51.00" in _text(c)


def test_claims_markdown(supported_run):
    supported, tmp_path = supported_run
    text = (tmp_path / "tables" / "claims.md").read_text()
    for number, claim in supported.items():
        assert f"| {number} | {C.CLAIMS[number].replace('|', chr(92) + '|')} | **{claim['verdict']}** |" in text
        assert f"**Verdict: {claim['verdict']}** — {claim['reason']}" in text
    assert "stand-in for XNLI" in text
    # the margins are printed, with their config keys
    assert "Δ ≥ 2 points (`stats.large_margin`)" in text and "±1 points by TOST (`stats.similar_margin`" in text
    assert text.count("Minimal detectable effect: ") == 7  # every claim but 7 (a configuration check)


def test_claims_from_the_tidy_csv_agree(supported_run):
    supported, tmp_path = supported_run
    again = C.judge_claims(tmp_path / "tables" / "all_metrics.csv", PAPER)
    assert [(c["id"], c["verdict"], c["reason"]) for c in again] == [
        (c["id"], c["verdict"], c["reason"]) for c in supported.values()
    ]


def test_margins_are_config_keys(tmp_path):
    # tlm − base = +7.33 [+7.00, +7.67]: supported with the 2-point large margin, contradicted with 10
    files = write_study(tmp_path / "metrics", {"zero_shot": ZS, "translate_train": TT})
    df = R.load_metrics(files)
    assert {c["id"]: c for c in C.judge_claims(df, {**PAPER, "stats": {"large_margin": 2.0}})}[1][
        "verdict"
    ] == SUPPORTED
    c = {c["id"]: c for c in C.judge_claims(df, {**PAPER, "stats": {"large_margin": 10.0}})}[1]
    assert c["verdict"] == CONTRADICTED and "Δ ≥ 10 points" in c["test"]
    text = C.render_claims([c], {"stats": {"large_margin": 10.0, "similar_margin": 0.5, "close_margin": 3.0}})
    assert "Δ ≥ 10 points" in text and "±0.5 points" in text and "−3 ≤ Δ < 0" in text


# --------------------------------------------------------------------------- runs where they do not hold


def test_claim_1_small_margin_contradicted(tmp_path):
    # tlm = base + 1 point in every cell: a clear gain, but the whole CI is below the 2-point margin
    tlm = {lang: [v + 1 for v in values] for lang, values in ZS["base"].items()}
    c = _judge(tmp_path, {"zero_shot": {**ZS, "tlm": tlm}})[1]
    assert c["verdict"] == CONTRADICTED
    assert "`topic` tlm − base = +1.00 [+1.00, +1.00] → contradicted" in c["reason"]


def test_claim_1_large_but_noisy_is_inconclusive(tmp_path):
    # +6 points on average, but seeds spread over 20 points: the CI spans 0 and the 2-point margin
    tlm = {"en": [70, 95, 96], "de": [40, 65, 66], "fr": [45, 70, 69]}
    c = _judge(tmp_path, {"zero_shot": {"base": ZS["base"], "tlm": tlm}})[1]
    cmp = _boot(
        write_study(tmp_path / "again", {"zero_shot": {"base": ZS["base"], "tlm": tlm}}),
        "topic",
        ("zero_shot", "tlm"),
        ("zero_shot", "base"),
        ["en", "de", "fr"],
    )
    assert cmp["diff"] > 2.0 and cmp["ci_low"] < 0 and cmp["ci_high"] > 2.0
    assert c["verdict"] == INCONCLUSIVE


def test_claims_2_and_8_contradicted_or_inconclusive(tmp_path):
    tt = {"base": TT["base"], "tlm": {"de": [63, 64, 62], "fr": [65, 66, 64]}}  # tlm 1 point above base in every cell
    contrastive = {lang: [v + 0.5 for v in values] for lang, values in ZS["mlm"].items()}
    contrastive["en"] = [81.0, 80.0, 79.0]
    zs = {"base": ZS["base"], "mlm": ZS["mlm"], "tlm": ZS["tlm"], "contrastive": contrastive}
    verdicts = _judge(tmp_path, {"zero_shot": zs, "translate_train": tt})
    assert verdicts[2]["verdict"] == CONTRADICTED  # tlm is not lower: the whole CI is above 0
    assert "tlm − base = +1.00 [+1.00, +1.00] → contradicted" in verdicts[2]["reason"]
    c8 = verdicts[8]
    assert c8["numbers"]["diff"] == pytest.approx(1 / 3)
    assert c8["verdict"] in (INCONCLUSIVE, SUPPORTED)  # a tiny, consistent gain: decided by its CI
    assert c8["verdict"] == (SUPPORTED if "(average) = +0.33 [+0.33" in c8["reason"] else INCONCLUSIVE)


def test_claim_8_higher_average_but_less_robust(tmp_path):
    # much better English and French, but German (its worst language) 5 points below MLM's worst
    contrastive = {"en": [95, 96, 94], "de": [46, 47, 45], "fr": [72, 73, 71]}
    c = _judge(tmp_path, {"zero_shot": {"base": ZS["base"], "mlm": ZS["mlm"], "contrastive": contrastive}})[8]
    assert "contrastive − mlm (average) = +9.00" in c["reason"] and "(average) = +9.00 [" in c["reason"]
    assert c["verdict"] == CONTRADICTED
    assert "worst language (non-inferiority ±1) = -5.00" in c["reason"]


def test_claim_2_tlm_lower_but_noisy_is_inconclusive(tmp_path):
    tt = {"base": TT["base"], "tlm": {"de": [50, 70, 61], "fr": [52, 72, 60]}}
    verdicts = _judge(tmp_path, {"zero_shot": ZS, "translate_train": tt})
    assert verdicts[2]["verdict"] == INCONCLUSIVE


# --------------------------------------------------------------------------- missing data


def test_without_translate_train(tmp_path):
    verdicts = _judge(tmp_path, {"zero_shot": ZS})
    assert verdicts[1]["verdict"] == SUPPORTED
    assert verdicts[2]["verdict"] == NOT_TESTABLE
    assert verdicts[2]["reason"] == "the translate-train setting was not run"
    # claim 3: the zero-shot conjunct holds, the translate-train one cannot be tested
    assert verdicts[3]["verdict"] == NOT_TESTABLE
    assert "translate-train: no `weam` and `base` scores" in verdicts[3]["reason"]
    assert verdicts[6]["verdict"] == NOT_TESTABLE
    assert "translate-train setting was not run for `weam`" in verdicts[6]["reason"]
    assert verdicts[8]["verdict"] == SUPPORTED  # zero-shot only
    text = (tmp_path / "tables" / "claims.md").read_text()
    assert text.count(f"| **{NOT_TESTABLE}** |") == 3


def test_claim_3_fails_on_its_testable_part(tmp_path):
    # weam = base zero-shot (CI [0, 0]: no gain), no translate-train: a contradicted conjunct decides
    verdicts = _judge(tmp_path, {"zero_shot": {"base": ZS["base"], "weam": ZS["base"]}})
    assert verdicts[3]["verdict"] == CONTRADICTED
    assert "zero-shot `topic` weam − base = +0.00 [+0.00, +0.00] → contradicted" in verdicts[3]["reason"]


def test_translate_train_without_the_arms(tmp_path):
    verdicts = _judge(tmp_path, {"zero_shot": ZS, "translate_train": {"weam": TT["weam"], "base": TT["base"]}})
    assert verdicts[2]["verdict"] == NOT_TESTABLE
    assert "not both fine-tuned in translate-train" in verdicts[2]["reason"]
    assert verdicts[6]["verdict"] == SUPPORTED


def test_missing_arms_not_testable(tmp_path):
    verdicts = _judge(tmp_path, {"zero_shot": {"base": ZS["base"], "mlm": ZS["mlm"]}})
    for number in (1, 4, 5, 6, 8):
        assert verdicts[number]["verdict"] == NOT_TESTABLE, number
    assert verdicts[7]["verdict"] == SUPPORTED


def test_one_seed_not_testable(tmp_path):
    files = write_study(tmp_path / "metrics", {"zero_shot": {"base": ZS["base"], "tlm": ZS["tlm"]}}, seeds=(1, 2, 3))
    files = [f for f in files if "base" not in f.parts or f.name == "seed1.json"]  # base: one seed
    c = {c["id"]: c for c in C.judge_claims(R.load_metrics(files), PAPER)}[1]
    assert c["verdict"] == NOT_TESTABLE and "fewer than two paired seeds" in c["reason"]


def test_xnli_judged_on_xnli_not_a_stand_in(tmp_path):
    verdicts = _judge(tmp_path, {"zero_shot": ZS, "translate_train": TT}, task="xnli")
    for number in (4, 5, 6):
        assert verdicts[number]["task"] == "xnli"
        assert not any("stand-in" in line for line in verdicts[number]["evidence"])
    assert verdicts[4]["verdict"] == SUPPORTED and verdicts[6]["verdict"] == SUPPORTED
    assert verdicts[1]["verdict"] == SUPPORTED and verdicts[1]["task"] == "xnli"
    assert "stand-in" not in (tmp_path / "tables" / "claims.md").read_text()


def test_empty_metrics_frame():
    df = R.load_metrics([])
    verdicts = C.judge_claims(df, PAPER)
    assert [c["verdict"] for c in verdicts] == [NOT_TESTABLE] * 6 + [SUPPORTED, NOT_TESTABLE]


def test_qa_task_is_no_stand_in_for_xnli(tmp_path):
    # a configuration with MLQA only (topic disabled): the XNLI claims (sentence classification)
    # have no task to be judged on; claims 1 and 8 use MLQA's primary metric (F1)
    files = []
    for setting, arms in {"zero_shot": ZS}.items():
        for objective, langs in arms.items():
            for lang, values in langs.items():
                for seed, value in zip((1, 2, 3), values):
                    files.append(
                        write_metric(
                            tmp_path,
                            "mlqa",
                            setting,
                            objective,
                            lang,
                            seed,
                            value / 100,
                            metrics={"f1": value / 100, "exact_match": value / 200},
                        )
                    )
    df = R.load_metrics(files)
    assert R.primary_metrics(df) == {"mlqa": "f1"}
    verdicts = {c["id"]: c for c in C.judge_claims(df, PAPER)}
    for number in (4, 5, 6):
        assert verdicts[number]["verdict"] == NOT_TESTABLE, number
        assert verdicts[number]["task"] is None
        assert "No sentence-classification task in this configuration." in verdicts[number]["evidence"]
        assert not any("stand-in" in line for line in verdicts[number]["evidence"])
    assert verdicts[1]["verdict"] == SUPPORTED and verdicts[1]["task"] == "mlqa"
    assert "metric: f1" in verdicts[8]["evidence"][0]


def test_claims_file_names_the_base_model(tmp_path):
    """The workflow passes a line on what the arms started from; claims.md prints it (the default
    base has seen the bitext's sentence alignment, a caveat for every claim)."""
    config = {**PAPER, "base": "trained from scratch with MLM plus translation ranking."}
    _judge(tmp_path, {"zero_shot": ZS, "translate_train": TT}, config=config)
    text = (tmp_path / "tables" / "claims.md").read_text()
    assert "Base model: trained from scratch with MLM plus translation ranking." in text
    _judge(tmp_path / "plain", {"zero_shot": ZS, "translate_train": TT})
    assert "Base model:" not in (tmp_path / "plain" / "tables" / "claims.md").read_text()


def test_claims_say_which_arms_did_not_learn_their_objective():
    not_learned = [
        {"objective": "tlm", "pretrain_seed": 13, "metric": "tlm_translation_gain", "before": 0.0, "after": 0.0}
    ]
    text = C.render_claims([], {"not_learned": not_learned})
    assert "did not learn their own objective" in text and "`tlm` (pre-training seed 13)" in text
    assert "every pre-training job improved" in C.render_claims([], {"not_learned": []})
    assert "Treatment checks" not in C.render_claims([], {})


def test_claim_6_not_testable_when_the_settings_train_on_different_numbers_of_documents(tmp_path):
    import json

    files = write_study(tmp_path / "metrics", {"zero_shot": ZS, "translate_train": TT})
    for path in files:  # zero-shot from 1500 English documents, translate-train from 400
        record = json.loads(path.read_text())
        record["train_docs"] = 1500 if record["setting"] == "zero_shot" else 400
        path.write_text(json.dumps(record))
    c = {c["id"]: c for c in C.judge_claims(R.load_metrics(files), PAPER)}[6]
    assert c["verdict"] == NOT_TESTABLE
    assert "zero-shot trained on 1500 documents, translate-train on 400" in c["reason"]
    for path in files:  # the same documents: judged as before
        record = json.loads(path.read_text())
        record["train_docs"] = 400
        path.write_text(json.dumps(record))
    assert {c["id"]: c for c in C.judge_claims(R.load_metrics(files), PAPER)}[6]["verdict"] == SUPPORTED
