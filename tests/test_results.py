"""The gather stage (alignxfer.results) on hand-written metric JSON files: 3 arms x 2 languages x
3 seeds with known accuracies, plus retrieval files and a translate-train setting."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from alignxfer import results as R
from alignxfer import stats as S
from tests.helpers_metrics import write_metric, write_retrieval, write_study

SEEDS = (1, 2, 3)
# per-seed accuracies in points; per-seed averages over (en, de) worked out by hand:
#   base: (80+50)/2 = 65.0, (81+52)/2 = 66.5, (79+48)/2 = 63.5 -> mean 65.0, sd 1.5
#   mlm : (81+49)/2 = 65.0, (79+53)/2 = 66.0, (80+50)/2 = 65.0 -> mean 65.333, sd sqrt(1/3) = 0.5774
#   tlm : (83+60)/2 = 71.5, (84+61)/2 = 72.5, (82+62)/2 = 72.0 -> mean 72.0, sd 0.5
# mlm's languages are anti-correlated over seeds: per-language sds 1.0 and 2.08, but the sd of its
# per-seed average is only 0.577 -- which only "average per seed first" gives.
ZERO_SHOT = {
    "base": {"en": [80, 81, 79], "de": [50, 52, 48]},
    "mlm": {"en": [81, 79, 80], "de": [49, 53, 50]},
    "tlm": {"en": [83, 84, 82], "de": [60, 61, 62]},
}
AVG = {"base": [65.0, 66.5, 63.5], "mlm": [65.0, 66.0, 65.0], "tlm": [71.5, 72.5, 72.0]}
# translate-train: trained on German, tested on German only
TRANSLATE_TRAIN = {
    "base": {"de": [60, 61, 62]},
    "mlm": {"de": [59, 62, 61]},
    "tlm": {"de": [55, 56, 57]},
}
MAJORITY = {"en": 0.25, "de": 0.21}
RETRIEVAL = {  # objective -> lang -> (p@1_xx_en, p@1_en_xx)
    "base": {"de": (0.30, 0.40), "ja": (0.20, 0.10)},
    "mlm": {"de": (0.35, 0.40), "ja": (0.25, 0.20)},
    "tlm": {"de": (0.60, 0.55), "ja": (0.50, 0.45)},
}


def _scores(table: dict, objective: str, lang: str) -> list[float]:
    return [float(v) for v in table[objective][lang]]


def _write_all(root):
    files = write_study(root, {"zero_shot": ZERO_SHOT, "translate_train": TRANSLATE_TRAIN}, majority=MAJORITY)
    for objective, langs in RETRIEVAL.items():
        for lang, (xx_en, en_xx) in langs.items():
            files.append(write_retrieval(root, objective, lang, xx_en, en_xx, n=100))
    return files


@pytest.fixture
def study(tmp_path):
    return _write_all(tmp_path / "metrics")


@pytest.fixture(scope="module")
def gathered_dir(tmp_path_factory):
    """One gather run (with plots) shared by the tests that only read its outputs."""
    root = tmp_path_factory.mktemp("gather")
    out = R.gather(_write_all(root / "metrics"), root / "tables", plots_dir=root / "plots")
    return out, root


@pytest.fixture
def gathered(gathered_dir):
    return gathered_dir[0]


# --------------------------------------------------------------------------- loading


def test_metric_files_follow_the_contract(study):
    rec = json.loads(study[0].read_text())
    assert set(rec) >= {"task", "setting", "objective", "lang", "train_lang", "seed", "n", "metrics"}
    assert study[0].parts[-5:] == ("topic", "zero_shot", "base", "en", "seed1.json")


def test_load_metrics_tidy_rows(study):
    df = R.load_metrics(study)
    # 18 zero-shot + 9 translate-train files with 2 metrics each, 6 retrieval files with 2 metrics each
    assert len(df) == (18 + 9) * 2 + 6 * 2
    assert list(df.columns) == R.COLUMNS
    assert str(df["seed"].dtype) == "Int64"
    topic = df[df["task"] == "topic"]
    assert set(topic[topic["primary"]]["metric"]) == {"accuracy"}
    assert set(topic["seed"].astype(int)) == set(SEEDS)
    assert set(topic[topic["setting"] == "translate_train"]["train_lang"]) == {"de"}
    assert set(topic[topic["setting"] == "zero_shot"]["train_lang"]) == {"en"}
    ret = df[df["task"] == "retrieval"]
    assert set(ret["setting"]) == {R.NO_FINETUNING} and ret["seed"].isna().all()
    assert set(ret[ret["primary"]]["metric"]) == {"p@1_xx_en"}
    row = topic[
        (topic["setting"] == "zero_shot")
        & (topic["objective"] == "tlm")
        & (topic["lang"] == "de")
        & (topic["seed"] == 2)
        & (topic["metric"] == "accuracy")
    ]
    assert row["value"].tolist() == [pytest.approx(0.61)]  # raw fractions, not points
    assert row["majority_baseline"].tolist() == [0.21]
    assert R.primary_metrics(df) == {"topic": "accuracy", "retrieval": "p@1_xx_en"}


def test_load_metrics_rejects_bad_files(tmp_path):
    a = write_metric(tmp_path / "a", "topic", "zero_shot", "base", "en", 1, 0.5)
    b = write_metric(tmp_path / "b", "topic", "zero_shot", "base", "en", 1, 0.6)
    with pytest.raises(ValueError, match="several metric files for the same run"):
        R.load_metrics([a, b])
    rec = json.loads(a.read_text())
    del rec["seed"]
    a.write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="lacks"):
        R.load_metrics([a])
    rec["seed"], rec["metrics"] = 1, {}
    a.write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="empty"):
        R.load_metrics([a])


# --------------------------------------------------------------------------- per-seed matrix


def test_seed_matrix_points_and_per_seed_average(study):
    df = R.load_metrics(study)
    mat = R.seed_matrix(df, "topic", "zero_shot", "accuracy")
    assert list(mat.columns) == ["en", "de", "avg", "avg_xx"]
    assert list(mat.index) == [(o, s) for o in ("base", "mlm", "tlm") for s in SEEDS]
    for objective in ZERO_SHOT:
        assert mat.loc[objective]["en"].tolist() == pytest.approx(_scores(ZERO_SHOT, objective, "en"))
        assert mat.loc[objective]["de"].tolist() == pytest.approx(_scores(ZERO_SHOT, objective, "de"))
        assert mat.loc[objective]["avg"].tolist() == pytest.approx(AVG[objective])
        assert mat.loc[objective]["avg_xx"].tolist() == pytest.approx(_scores(ZERO_SHOT, objective, "de"))
        assert R.arm_scores(mat, objective, "avg") == pytest.approx(AVG[objective])
    tt = R.seed_matrix(df, "topic", "translate_train", "accuracy")
    assert list(tt.columns) == ["de", "avg"]  # no English test, no avg_xx
    assert R.seed_matrix(df, "topic", "zero_shot", "no_such_metric").empty


def test_seed_missing_a_language_gets_no_average(tmp_path):
    scores = {"base": {"en": [80, 81, 79], "de": [50, None, 48]}, "mlm": {"en": [81, 79, 80], "de": [49, 53, 50]}}
    df = R.load_metrics(write_study(tmp_path, {"zero_shot": scores}))
    mat = R.seed_matrix(df, "topic", "zero_shot", "accuracy")
    assert math.isnan(mat.loc[("base", 2), "avg"])
    assert R.arm_scores(mat, "base", "avg") == pytest.approx([65.0, 63.5])
    long = R.build_table(df, "topic", "zero_shot", "accuracy")
    avg = long[(long["objective"] == "base") & (long["lang"] == "avg")].iloc[0]
    assert avg["n_seeds"] == 2 and avg["mean"] == pytest.approx(64.25)
    en = long[(long["objective"] == "base") & (long["lang"] == "en")].iloc[0]
    assert en["n_seeds"] == 3


# --------------------------------------------------------------------------- the long table


def _cell(long: pd.DataFrame, objective: str, column: str) -> pd.Series:
    rows = long[(long["objective"] == objective) & (long["lang"] == column)]
    assert len(rows) == 1
    return rows.iloc[0]


def _per_seed(objective: str, column: str) -> list[float]:
    if column == "avg":
        return AVG[objective]
    return _scores(ZERO_SHOT, objective, "de" if column == "avg_xx" else column)


def _exact_boot_p(diffs) -> float:
    """Two-sided percentile p of the mean of paired differences over every ordered resample."""
    import itertools

    means = np.array([np.mean(c) for c in itertools.product(diffs, repeat=len(diffs))])
    return min(1.0, 2 * min(np.mean(means <= 1e-12), np.mean(means >= -1e-12)))


def test_build_table_mean_std_and_differences(study):
    df = R.load_metrics(study)
    long = R.build_table(df, "topic", "zero_shot", "accuracy", baseline="base", control="mlm")
    assert len(long) == 3 * 4
    # hand values of the avg column
    assert _cell(long, "base", "avg")[["mean", "std"]].tolist() == pytest.approx([65.0, 1.5])
    assert _cell(long, "mlm", "avg")[["mean", "std"]].tolist() == pytest.approx([65 + 1 / 3, math.sqrt(1 / 3)])
    assert _cell(long, "tlm", "avg")[["mean", "std"]].tolist() == pytest.approx([72.0, 0.5])
    assert _cell(long, "tlm", "avg")["diff_vs_base"] == pytest.approx(7.0)
    assert _cell(long, "tlm", "avg")["diff_vs_mlm"] == pytest.approx(72.0 - (65 + 1 / 3))
    assert _cell(long, "mlm", "avg")["diff_vs_base"] == pytest.approx(1 / 3)
    assert _cell(long, "tlm", "en")["diff_vs_base"] == pytest.approx(3.0)
    # reference arms have no difference to themselves
    assert math.isnan(_cell(long, "base", "avg")["diff_vs_base"]) and _cell(long, "base", "avg")["sig_vs_base"] == ""
    assert math.isnan(_cell(long, "mlm", "de")["p_vs_mlm"])
    marks = set()
    for objective in ZERO_SHOT:
        for column in ("en", "de", "avg", "avg_xx"):
            cell = _cell(long, objective, column)
            values = _per_seed(objective, column)
            assert cell["mean"] == pytest.approx(np.mean(values))
            assert cell["std"] == pytest.approx(np.std(values, ddof=1))
            assert cell["n_seeds"] == 3
            for ref in ("base", "mlm"):
                if objective == ref:
                    continue
                ref_values = _per_seed(ref, column)
                diffs = np.asarray(values) - np.asarray(ref_values)
                assert cell[f"diff_vs_{ref}"] == pytest.approx(np.mean(values) - np.mean(ref_values))
                # seed-level paired bootstrap (no predictions files): the exact bootstrap p over the
                # 27 equally likely resamples of the 3 paired per-seed differences, within MC error
                assert cell[f"p_vs_{ref}"] == pytest.approx(_exact_boot_p(diffs), abs=0.03)
                assert min(diffs) - 1e-9 <= cell[f"ci_low_vs_{ref}"] <= cell[f"diff_vs_{ref}"] + 1e-9
                assert cell[f"diff_vs_{ref}"] - 1e-9 <= cell[f"ci_high_vs_{ref}"] <= max(diffs) + 1e-9
                assert cell[f"n_runs_vs_{ref}"] == 3 and not cell["docs_resampled"]
                marks.add(cell[f"sig_vs_{ref}"])
    # marks come from the Holm-adjusted p across the arms of each column
    for ref in ("base", "mlm"):
        for column in ("en", "de", "avg", "avg_xx"):
            sub = long[(long["lang"] == column) & (long["objective"] != ref)]
            assert sub[f"p_holm_vs_{ref}"].tolist() == pytest.approx(S.holm(sub[f"p_vs_{ref}"].tolist()))
            for p, mark in zip(sub[f"p_holm_vs_{ref}"], sub[f"sig_vs_{ref}"]):
                assert mark == ("**" if p < 0.01 else "*" if p < 0.05 else "")
    assert marks >= {"", "**"}
    # the two comparisons the data were built for
    assert _cell(long, "tlm", "avg")["p_vs_base"] < 0.01 and _cell(long, "tlm", "avg")["sig_vs_base"] == "**"
    assert _cell(long, "mlm", "avg")["p_vs_base"] > 0.5 and _cell(long, "mlm", "avg")["sig_vs_base"] == ""
    # majority-class baseline in points, averaged over the column's languages
    assert _cell(long, "tlm", "en")["majority_baseline"] == pytest.approx(25.0)
    assert _cell(long, "tlm", "avg")["majority_baseline"] == pytest.approx(23.0)
    assert _cell(long, "tlm", "avg_xx")["majority_baseline"] == pytest.approx(21.0)


def test_build_table_translate_train(study):
    df = R.load_metrics(study)
    long = R.build_table(df, "topic", "translate_train", "accuracy")
    assert set(long["lang"]) == {"de", "avg"}
    tlm = _cell(long, "tlm", "avg")
    assert tlm["mean"] == pytest.approx(56.0) and tlm["diff_vs_base"] == pytest.approx(-5.0)
    # paired per-seed differences are all −5: every replicate is −5, p at its floor 2 / (B + 1)
    assert tlm["ci_low_vs_base"] == pytest.approx(-5.0) and tlm["ci_high_vs_base"] == pytest.approx(-5.0)
    assert tlm["p_vs_base"] == pytest.approx(2 / (S.BOOT_SAMPLES + 1))


# --------------------------------------------------------------------------- the stage


def test_gather_writes_tables_summary_and_plots(gathered_dir):
    gathered, tmp_path = gathered_dir
    tables = tmp_path / "tables"
    for name in (
        "all_metrics.csv",
        "topic_zero_shot.csv",
        "topic_zero_shot.md",
        "topic_translate_train.csv",
        "topic_translate_train.md",
        "topic_zero_shot_macro_f1.csv",
        "topic_zero_shot_macro_f1.md",
        "retrieval.csv",
        "retrieval.md",
        "summary.md",
    ):
        assert (tables / name).is_file(), name
        assert str(tables / name) in gathered["files"]
    assert set(gathered["tables"]) == {
        "topic/zero_shot",
        "topic/translate_train",
        "topic/zero_shot/macro_f1",
        "topic/translate_train/macro_f1",
        "retrieval",
    }
    assert gathered["primary_metrics"] == {"topic": "accuracy", "retrieval": "p@1_xx_en"}
    # the CSV holds the long table
    csv = pd.read_csv(tables / "topic_zero_shot.csv")
    long = gathered["tables"]["topic/zero_shot"]
    assert len(csv) == len(long)
    assert csv["mean"].tolist() == pytest.approx(long["mean"].tolist())
    assert csv["sig_vs_base"].fillna("").tolist() == long["sig_vs_base"].tolist()
    assert csv["p_vs_mlm"].tolist() == pytest.approx(long["p_vs_mlm"].tolist(), nan_ok=True)
    assert len(pd.read_csv(tables / "all_metrics.csv")) == len(gathered["metrics"])
    # plots: one per (task, setting) with its primary metric, and retrieval; real PNG files
    plots = sorted(p.split("/")[-1] for p in gathered["plots"])
    assert plots == [
        "forest_topic_translate_train.png",
        "forest_topic_zero_shot.png",
        "retrieval.png",
        "topic_translate_train.png",
        "topic_zero_shot.png",
    ]
    for name in plots:
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _md_row(text: str, section: str, first_cell: str) -> list[str]:
    """Cells of the row starting with ``first_cell`` in the first table after ``section``."""
    part = text.split(section, 1)[1]
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} after {section!r}")


def test_markdown_table_means_and_marks(gathered_dir):
    tmp_path = gathered_dir[1]
    text = (tmp_path / "tables" / "topic_zero_shot.md").read_text()
    assert _md_row(text, "Mean ± std", "arm") == ["arm", "en", "de", "avg", "avg_xx"]
    assert _md_row(text, "Mean ± std", "base") == ["base", "80.0 ± 1.0", "50.0 ± 2.0", "65.0 ± 1.5", "50.0 ± 2.0"]
    assert _md_row(text, "Mean ± std", "mlm") == ["mlm", "80.0 ± 1.0", "50.7 ± 2.1", "65.3 ± 0.6", "50.7 ± 2.1"]
    assert _md_row(text, "Mean ± std", "tlm") == ["tlm", "83.0 ± 1.0", "61.0 ± 1.0", "72.0 ± 0.5", "61.0 ± 1.0"]
    assert _md_row(text, "Mean ± std", "*majority class*") == ["*majority class*", "25.0", "21.0", "23.0", "21.0"]
    # every difference cell: the table's difference and Holm mark; the avg column's CI, p, Holm p, MDE
    long = gathered_dir[0]["tables"]["topic/zero_shot"]
    for ref, section in (("base", "Difference to `base`"), ("mlm", "Difference to `mlm`")):
        for objective in ZERO_SHOT:
            if objective == ref:
                continue
            row = _md_row(text, section, objective)
            expected = [objective]
            for column in ("en", "de", "avg", "avg_xx"):
                a, b = _per_seed(objective, column), _per_seed(ref, column)
                expected.append(f"{np.mean(a) - np.mean(b):+.1f}{_cell(long, objective, column)[f'sig_vs_{ref}']}")
            avg = _cell(long, objective, "avg")
            expected += [
                f"[{avg[f'ci_low_vs_{ref}']:+.1f}, {avg[f'ci_high_vs_{ref}']:+.1f}]",
                S.format_p(avg[f"p_vs_{ref}"]),
                S.format_p(avg[f"p_holm_vs_{ref}"]),
                f"{avg[f'mde_vs_{ref}']:.1f}",
            ]
            assert row == expected
    assert _md_row(text, "Difference to `base`", "tlm")[1:4] == ["+3.0**", "+11.0**", "+7.0**"]  # every seed agrees
    assert _md_row(text, "Difference to `base`", "mlm")[3] == "+0.3"  # no mark
    assert "paired hierarchical bootstrap" in text and "Holm's step-down correction" in text
    assert "B = 2000 replicates, RNG seed 20211" in text


def test_summary_markdown(gathered_dir):
    tmp_path = gathered_dir[1]
    text = (tmp_path / "tables" / "summary.md").read_text()
    assert "## topic — zero_shot (accuracy, points)" in text
    row = _md_row(text, "## topic — zero_shot", "tlm")
    assert row[1:3] == ["72.0 ± 0.5", "61.0 ± 1.0"]
    assert row[3].startswith("+7.0** [+6.0, +")
    assert _md_row(text, "## topic — zero_shot", "mlm")[3].startswith("+0.3 [")
    # retrieval averages over languages: tlm (60 + 50) / 2 = 55.0 and (55 + 45) / 2 = 50.0
    assert _md_row(text, "## Retrieval", "tlm") == ["tlm", "55.0", "50.0"]


def test_retrieval_table(gathered):
    ret = gathered["tables"]["retrieval"]
    cell = ret.set_index(["metric", "objective", "lang"])
    assert cell.loc[("p@1_xx_en", "tlm", "de"), "value"] == pytest.approx(60.0)
    assert cell.loc[("p@1_xx_en", "tlm", "avg"), "value"] == pytest.approx(55.0)
    assert cell.loc[("p@1_xx_en", "tlm", "avg"), "n_pairs"] == 200
    # binomial SE of 60% over 100 pairs: sqrt(0.6 * 0.4 / 100) = 4.899 points
    assert cell.loc[("p@1_xx_en", "tlm", "de"), "binomial_se"] == pytest.approx(math.sqrt(0.24 / 100) * 100)
    # differences of the averages: base (30+20)/2 = 25, mlm (35+25)/2 = 30
    assert cell.loc[("p@1_xx_en", "tlm", "avg"), "diff_vs_base"] == pytest.approx(30.0)
    assert cell.loc[("p@1_xx_en", "tlm", "avg"), "diff_vs_mlm"] == pytest.approx(25.0)
    assert cell.loc[("p@1_en_xx", "mlm", "ja"), "diff_vs_base"] == pytest.approx(10.0)
    assert math.isnan(cell.loc[("p@1_en_xx", "base", "ja"), "diff_vs_base"])
