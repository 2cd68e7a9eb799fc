"""Alignment quality against gold alignments: gold format, orientation, AER, the table, config checks."""

import copy

import pytest

from alignxfer.alignment import aligner_options
from alignxfer.alignment_quality import (
    BUILTIN_GOLD,
    GoldError,
    evaluate,
    gold_sets,
    read_gold,
    score,
    write_tables,
)
from alignxfer.config import (
    ALIGNER_MAX_WORDS,
    ConfigError,
    load_config,
    validate_config,
)
from tests.workflow_helpers import REPO

OPTIONS = {
    "iterations": 4,
    "p0": 0.08,
    "favor_diagonal": True,
    "variational_bayes": True,
    "diagonal_tension": 4.0,
    "prior_alpha": 0.01,
}


def write_gold(tmp_path, texts, links, stem="xxen"):
    (tmp_path / f"{stem}.src-tgt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    (tmp_path / f"{stem}.gold").write_text("".join(g + "\n" for g in links), encoding="utf-8")
    return str(tmp_path / stem)


def test_gold_links_are_turned_english_first_and_zero_based(tmp_path):
    # left = other language, right = English: link "2-1" means other word 2 <-> English word 1
    path = write_gold(tmp_path, ["le chat noir ||| the black cat"], ["1-1 2p3 3-2"])
    gold = read_gold({"path": path, "english": "right"})
    assert gold.src == [["the", "black", "cat"]] and gold.tgt == [["le", "chat", "noir"]]
    assert gold.sure == [{(0, 0), (1, 2)}]
    assert gold.possible == [{(0, 0), (1, 2), (2, 1)}]  # possible includes sure
    left = read_gold({"path": path, "english": "left"})
    assert left.src == [["le", "chat", "noir"]] and left.sure == [{(0, 0), (2, 1)}]


@pytest.mark.parametrize(
    "texts, links, message",
    [
        (["a b ||| c d"], ["1-1 x"], r"xxen.gold:1: 'x' is not a gold link"),
        (["a b ||| c d"], ["1-3"], r"xxen.gold:1: link 1-3 is out of range for 2 left and 2 right tokens"),
        (["a b ||| c d"], ["0-1"], r"out of range"),
        (["a b ||| c d", "e ||| f"], ["1-1"], r"xxen.gold has 1 lines but .*xxen.src-tgt has 2"),
        (["a b c d"], ["1-1"], r"xxen.src-tgt:1: expected 'left tokens \|\|\| right tokens'"),
    ],
)
def test_malformed_gold_sets_name_file_and_line(tmp_path, texts, links, message):
    with pytest.raises(GoldError, match=message):
        read_gold({"path": write_gold(tmp_path, texts, links)})


def test_score_follows_the_sure_possible_definition():
    sure = [{(0, 0), (1, 1)}]
    possible = [{(0, 0), (1, 1), (1, 2)}]
    predicted = [{(0, 0), (1, 2), (2, 2)}]  # one sure hit, one possible-only hit, one miss
    s = score(predicted, sure, possible)
    # |A|=3 |S|=2 |A∩S|=1 |A∩P|=2: AER = 1 - 3/5, P = 2/3, R = 1/2
    assert (
        s["aer"] == pytest.approx(40.0)
        and s["precision"] == pytest.approx(200 / 3)
        and s["recall"] == pytest.approx(50.0)
    )
    assert score([{(0, 0), (1, 1)}], sure, possible)["aer"] == 0.0


def _bitext(n=300):
    # a toy language: English word wK <-> xK, same order; random lengths and words
    import random

    rng = random.Random(3)
    lines = []
    for _ in range(n):
        ks = [rng.randrange(40) for _ in range(rng.randint(3, 9))]
        lines.append(" ".join(f"w{k}" for k in ks) + " ||| " + " ".join(f"x{k}" for k in ks))
    return lines


def test_evaluate_aligns_the_gold_sentences_with_the_bitext(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(_bitext()) + "\n", encoding="utf-8")
    # gold set with English on the right, and a token ("x3-x4") the workflow segments into 3 words
    path = write_gold(tmp_path, ["x1 x2 x3-x4 ||| w1 w2 w3"], ["1-1 2-2 3-3"])
    gold = read_gold({"path": path, "english": "right"})
    report = evaluate(corpus, gold, OPTIONS, "grow-diag-final-and")
    rows = {(r["segmentation"], r["method"]): r for r in report["results"]}
    assert report["pairs"] == 300 and report["sentences"] == 1 and len(rows) == 10
    # the diagonal toy language is learnt: every method finds the three sure links
    for key in [("gold", "forward"), ("gold", "reverse"), ("gold", "grow-diag-final-and"), ("gold", "intersection")]:
        assert rows[key]["aer"] == 0.0, rows[key]
    # workflow segmentation: x3 - x4 are three words, projected back to the gold token 3
    wf = rows[("workflow", "grow-diag-final-and")]
    assert wf["recall"] == 100.0 and wf["sure"] == 3 and 3 <= wf["links"] <= 9  # links between gold tokens


def test_table_has_a_row_per_method_and_says_where_there_is_no_gold_set(tmp_path):
    results = [
        {"segmentation": "gold", "method": m, "aer": 25.25, "precision": 70.0, "recall": 84.0, "links": 9, "sure": 8}
        for m in ("forward", "reverse", "grow-diag-final-and", "intersection", "union")
    ]
    reports = {"fr": {"pairs": 100, "sentences": 447, "configured": "grow-diag-final-and", "results": results}}
    md, csv = tmp_path / "q.md", tmp_path / "q.csv"
    write_tables(reports, ["de", "fr"], md, csv, eval_langs=["sw"], gold={"fr": {"name": "Hansards"}})
    text = md.read_text()
    assert "| en-de | no gold set (add one under alignment.gold) |" in text
    assert "| en-fr | Hansards | gold | grow-diag-final-and (configured) | 25.2 | 70.0 | 84.0 |" in text
    assert "en-sw | evaluation-only language" in text
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("lang,gold set,segmentation,method,AER") and len(lines) == 1 + 1 + 5 + 1


def test_shipped_gold_sets_read_with_their_sizes():
    sizes = {"fr": 447, "ja": 582, "ro": 248}
    for lang, spec in BUILTIN_GOLD.items():
        gold = read_gold(spec)
        assert len(gold.src) == sizes[lang]
        assert all(s <= p for s, p in zip(gold.sure, gold.possible))
    ja = read_gold(BUILTIN_GOLD["ja"])  # jaen: Japanese left, English right
    assert ja.src[0][:2] == ["yoshimitsu", "ashikaga"]


def _config(**alignment):
    cfg = copy.deepcopy(load_config(REPO / "configs/smoke.yaml"))
    cfg.setdefault("alignment", {}).update(alignment)
    return cfg


def test_config_gold_set_extends_the_shipped_ones(tmp_path):
    path = write_gold(tmp_path, ["a ||| b"], ["1-1"], stem="deen")
    cfg = validate_config(_config(gold={"de": {"path": path}}))
    sets = gold_sets(cfg)
    assert sets["de"]["path"] == path and sets["de"]["english"] == "left" and {"fr", "ja", "ro"} <= set(sets)
    # gold and quality never reach the aligner (adding a gold set reruns no alignment)
    assert set(aligner_options(cfg["alignment"])) == set(OPTIONS)


def test_missing_gold_files_are_refused_with_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"alignment.gold.de.path: .*nothere.src-tgt not found"):
        validate_config(_config(gold={"de": {"path": str(tmp_path / "nothere")}}))


def test_max_words_above_the_aligner_limit_is_refused():
    cfg = _config()
    cfg.setdefault("prepare", {})["max_words"] = ALIGNER_MAX_WORDS + 1
    with pytest.raises(ConfigError, match=r"prepare.max_words: 1025 is above the aligner's limit of 1024 words a side"):
        validate_config(cfg)
    cfg = _config()
    cfg.setdefault("prepare", {})["max_words"] = ALIGNER_MAX_WORDS
    validate_config(cfg)


def test_the_aligner_limit_is_real():
    """sil-thot leaves a pair with a side over ALIGNER_MAX_WORDS words out (empty alignment)."""
    import random

    from alignxfer.alignment import align_sentences

    rng = random.Random(1)
    src = [[f"w{rng.randrange(50)}" for _ in range(8)] for _ in range(100)]
    tgt = [[w.upper() for w in s] for s in src]
    for n, expect_links in ((ALIGNER_MAX_WORDS, True), (ALIGNER_MAX_WORDS + 1, False)):
        long_en = [f"w{i % 50}" for i in range(n)]
        short_xx = [f"W{i}" for i in range(10)]
        rows = align_sentences(src + [long_en], tgt + [short_xx], options=OPTIONS)
        assert bool(rows[-1]) == expect_links, n
        assert all(rows[:-1])  # the other pairs are aligned either way
