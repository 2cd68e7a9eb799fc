"""Readouts of issue #12: retrieval at every layer (raw/centred, equal pools, string-match
baseline, McNemar), de-lexicalised test sets, the frozen-feature probe, early stopping."""

import json
import math

import numpy as np
import pytest
import torch

from alignxfer.delex import UNK, DelexTopicTask, delexicalise, english_vocabulary, prepare_delex
from alignxfer.paired import compare_predictions, mcnemar
from alignxfer.tasks import retrieval as R
from alignxfer.tasks.base import train_with_dev_selection
from alignxfer.tasks.probe import fit_logistic, logits, run_probe
from tests.helpers_models import make_base_model, make_tokenizer


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- retrieval


def test_pool_size_is_the_smallest_language_or_the_configured_size():
    assert R.pool_size_for({"de": 50, "ja": 30}, None) == 30
    assert R.pool_size_for({"de": 50, "ja": 30}, 20) == 20
    with pytest.raises(ValueError, match="language 'ja' has only 30.*pool_size"):
        R.pool_size_for({"de": 50, "ja": 30}, 40)


def test_pool_sample_is_deterministic_and_depends_only_on_each_pair():
    pairs = [{"id": f"d{i}#{i + 1}", "en": str(i), "xx": str(i)} for i in range(100)]
    a = R.sample_pool(pairs, 30, seed=13)
    assert len(a) == 30 and a == R.sample_pool(pairs, 30, seed=13)
    assert a != R.sample_pool(pairs, 30, seed=14)
    # the pairs in file order; removing unchosen pairs keeps the choice
    assert [p["id"] for p in a] == [p["id"] for p in pairs if p in a]
    kept = [p for p in pairs if p in a] + [p for p in pairs if p not in a][:10]
    assert {p["id"] for p in R.sample_pool(kept, 30, seed=13)} == {p["id"] for p in a}


def test_centring_repairs_an_anisotropic_space():
    """Aligned directions plus a large per-language offset: raw cosine retrieves the same candidate
    for every query, centring per language restores the alignment."""
    gen = torch.Generator().manual_seed(0)
    n, h = 40, 16
    u = torch.randn(n, h, generator=gen)
    offset_en = torch.zeros(h)
    offset_en[0] = 30.0
    offset_xx = torch.zeros(h)
    offset_xx[1] = 30.0
    en = (u + offset_en)[None]
    xx = (u + 0.1 * torch.randn(n, h, generator=gen) + offset_xx)[None]
    texts_en, texts_xx = [f"e{i}" for i in range(n)], [f"x{i}" for i in range(n)]
    scored = R.score_vectors(en, xx, texts_en, texts_xx)[0]
    raw = scored["raw"]["xx_en"][1].mean()
    centred = scored["centred"]["xx_en"][1].mean()
    assert centred > 0.9 and raw < 0.5, (raw, centred)


def test_duplicate_candidates_are_not_errors():
    sim = np.array([[0.1, 0.9], [0.2, 0.8]])
    best, hits = R.retrieval_hits(sim, ["same", "same"])
    assert best.tolist() == [1, 1] and hits.tolist() == [True, True]
    _, hits = R.retrieval_hits(sim, ["a", "b"])
    assert hits.tolist() == [False, True]


def test_string_match_uses_latin_tokens_and_numbers_only(tmp_path):
    assert R.latin_tokens("パッケージ libfoo-dev 3.11 と python3") == {"libfoo-dev", "3.11", "python3"}
    assert R.latin_tokens("Пакет для работы") == set()
    pairs = _jsonl(
        tmp_path / "en-ja.jsonl",
        [
            {"doc_id": "a", "en": "library libfoo-dev version 3.11", "xx": "ライブラリ libfoo-dev 3.11"},
            {"doc_id": "b", "en": "Python bindings for gtk", "xx": "gtk の Python バインディング"},
            {"doc_id": "c", "en": "a text editor", "xx": "テキストエディタ"},
            {"doc_id": "d", "en": "a game", "xx": "ゲーム"},
        ],
    )
    out = tmp_path / "sm" / "ja.json"
    result = R.string_match(pairs, out, "ja")
    # a, b are found by their shared strings; c has no Latin token (ties go to the first column, a)
    assert result["metrics"]["p@1_xx_en"] == pytest.approx(0.5)
    assert (
        result["baseline"] == "string_match" and result["pool_size"] == 4 and result["pairs_without_latin_token"] == 2
    )
    rows = [json.loads(line) for line in (tmp_path / "sm" / "ja.predictions.jsonl").read_text().splitlines()]
    assert [r["correct"] for r in rows] == [True, True, False, False]
    assert rows[2]["pred"] == "a#1" and rows[0]["id"] == "a#1"


def test_retrieval_writes_every_layer_raw_and_centred_with_predictions(tmp_path):
    tok = make_tokenizer(tmp_path / "tok")
    model = make_base_model(tmp_path / "model", tok, seed=0)
    pairs = _jsonl(
        tmp_path / "en-de.jsonl",
        [
            {"doc_id": f"d{i}", "en": en, "xx": xx}
            for i, (en, xx) in enumerate(
                [
                    ("the cat sits", "die katze sitzt"),
                    ("the dog runs", "der hund läuft"),
                    ("the house is red", "das haus ist rot"),
                    ("a big dog", "ein großer hund"),
                    ("the fish eats", "der fisch frisst"),
                    ("a small cat", "eine kleine katze"),
                ]
            )
        ],
    )
    out = tmp_path / "metrics" / "retrieval" / "base" / "de.json"
    result = R.evaluate_retrieval(
        model, pairs, out, layer=-1, max_length=16, meta={"objective": "base", "lang": "de"}, pool_size=4, pool_seed=13
    )
    stored = json.loads(out.read_text())
    assert stored["pool_size"] == stored["n"] == 4 and stored["n_pairs_available"] == 6
    assert set(stored["metrics"]) == {"p@1_xx_en", "p@1_en_xx", "p@1_xx_en_centred", "p@1_en_xx_centred"}
    assert [row["layer"] for row in stored["layers"]] == [0, 1, 2]  # embeddings + 2 layers
    assert stored["layers"][2]["p@1_xx_en"] == stored["metrics"]["p@1_xx_en"]
    rows = [json.loads(line) for line in (out.parent / "de.predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {"id", "gold", "pred", "correct", "correct_centred", "correct_en_xx"} <= set(rows[0])
    assert np.mean([r["correct"] for r in rows]) == pytest.approx(result["metrics"]["p@1_xx_en"])
    # the same model and pool give byte-identical files
    again = tmp_path / "again" / "de.json"
    R.evaluate_retrieval(
        model,
        pairs,
        again,
        layer=-1,
        max_length=16,
        meta={"objective": "base", "lang": "de"},
        pool_size=4,
        pool_seed=13,
    )
    assert (again.parent / "de.predictions.jsonl").read_bytes() == (out.parent / "de.predictions.jsonl").read_bytes()


def test_mcnemar_exact():
    a = [True] * 10 + [True] * 30 + [False] * 20
    b = [False] * 10 + [True] * 30 + [False] * 20
    r = mcnemar(a, b)
    assert (r["a_only"], r["b_only"]) == (10, 0)
    assert r["p_value"] == pytest.approx(2 * 0.5**10)
    assert r["diff"] == pytest.approx(10 / 60)
    assert mcnemar(a, a)["p_value"] == 1.0
    # 6 vs 4 discordant: far from significant
    assert mcnemar([True] * 6 + [False] * 4, [False] * 6 + [True] * 4)["p_value"] > 0.5


def test_compare_predictions_needs_the_same_examples(tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [{"id": "x", "correct": True}, {"id": "y", "correct": True}])
    b = _jsonl(tmp_path / "b.jsonl", [{"id": "y", "correct": False}, {"id": "x", "correct": False}])
    assert compare_predictions(a, b)["a_only"] == 2
    c = _jsonl(tmp_path / "c.jsonl", [{"id": "x", "correct": True}, {"id": "z", "correct": True}])
    with pytest.raises(ValueError, match="different examples"):
        compare_predictions(a, c)


# --------------------------------------------------------------------------- de-lexicalised test sets


def test_delexicalise_replaces_english_training_words_but_not_punctuation(tmp_path):
    train = _jsonl(
        tmp_path / "train.en.jsonl", [{"doc_id": "1", "text": "libfoo library for Python 3.", "label": "libs"}]
    )
    vocab = english_vocabulary([train])
    words, replaced, lexical = delexicalise("Bibliothek libfoo für Python (3).", vocab)
    assert words == ["Bibliothek", UNK, "für", UNK, "(", UNK, ")", "."]
    assert (replaced, lexical) == (3, 5)
    words, replaced, _ = delexicalise("python", vocab)  # verbatim: case counts
    assert words == ["python"] and replaced == 0
    test = _jsonl(tmp_path / "test.de.jsonl", [{"doc_id": "9", "text": "Bibliothek libfoo", "label": "libs"}])
    summary = prepare_delex(test, train, tmp_path / "test_delex.de.jsonl", "de", summary_path=tmp_path / "s.json")
    assert summary["replaced_words"] == 1 and summary["replaced_fraction"] == pytest.approx(0.5)
    record = json.loads((tmp_path / "test_delex.de.jsonl").read_text())
    assert record["words"] == ["Bibliothek", UNK] and record["label"] == "libs"


def test_delex_task_feeds_the_unknown_token_not_its_characters(tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(make_tokenizer(tmp_path / "tok")))
    labels = tmp_path / "labels.json"
    labels.write_text('["a", "b"]')
    path = _jsonl(
        tmp_path / "d.jsonl", [{"doc_id": "1", "text": "die [UNK] katze", "label": "a", "words": ["die", UNK, "katze"]}]
    )
    task = DelexTopicTask()
    features = task.encode(tok, task.load_examples(path, ["a", "b"]), 16)
    ids = features[0]["input_ids"]
    assert ids == [
        tok.cls_token_id,
        tok.convert_tokens_to_ids("die"),
        tok.unk_token_id,
        tok.convert_tokens_to_ids("katze"),
        tok.sep_token_id,
    ]


# --------------------------------------------------------------------------- probe


def test_logistic_probe_is_deterministic_and_learns():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(90, 5, generator=gen)
    y = torch.tensor([0] * 30 + [1] * 30 + [2] * 30)
    x[y == 1, 0] += 3
    x[y == 2, 1] += 3
    w1 = fit_logistic(x, y, 3, l2=1e-3)
    w2 = fit_logistic(x, y, 3, l2=1e-3)
    assert torch.equal(w1, w2)
    acc = (logits(w1, x).argmax(dim=1) == y).double().mean()
    assert acc > 0.85
    heavy = fit_logistic(x, y, 3, l2=10.0)
    assert heavy[:-1].abs().sum() < w1[:-1].abs().sum()


def test_probe_writes_metric_and_prediction_files_per_language(tmp_path):
    tok = make_tokenizer(tmp_path / "tok")
    model = make_base_model(tmp_path / "model", tok, seed=0)
    labels = tmp_path / "labels.json"
    labels.write_text('["animal", "house"]')
    rows = [
        {"doc_id": f"t{i}", "text": t, "label": lab}
        for i, (t, lab) in enumerate(
            [
                ("the cat sits", "animal"),
                ("the dog runs", "animal"),
                ("the house is red", "house"),
                ("a big house", "house"),
                ("a cat eats fish", "animal"),
                ("the small house", "house"),
            ]
        )
    ]
    train = _jsonl(tmp_path / "train.en.jsonl", rows)
    dev = _jsonl(tmp_path / "dev.en.jsonl", rows[:4])
    test_de = _jsonl(
        tmp_path / "test.de.jsonl",
        [
            {"doc_id": "x", "text": "die katze sitzt", "label": "animal"},
            {"doc_id": "y", "text": "das haus ist rot", "label": "house"},
        ],
    )
    outputs = {
        lang: (tmp_path / f"m/{lang}/seed0.json", tmp_path / f"m/{lang}/seed0.predictions.jsonl")
        for lang in ("en", "de")
    }
    results = run_probe(
        model,
        train,
        dev,
        {"en": dev, "de": test_de},
        labels,
        outputs,
        meta={"objective": "base"},
        max_length=16,
        options={"l2_grid": [1e-3, 1e-1]},
    )
    de = json.loads(outputs["de"][0].read_text())
    assert de["setting"] == "probe" and de["seed"] == 0 and de["train_docs"] == 6 and de["l2"] in (1e-3, 1e-1)
    assert len(de["l2_grid"]) == 2 and 0 <= de["metrics"]["accuracy"] <= 1
    preds = [json.loads(line) for line in outputs["de"][1].read_text().splitlines()]
    assert [p["id"] for p in preds] == ["x", "y"] and len(preds[0]["scores"]) == 2
    assert np.mean([p["correct"] for p in preds]) == pytest.approx(results["de"]["metrics"]["accuracy"])
    again = {lang: (tmp_path / f"n/{lang}.json", tmp_path / f"n/{lang}.p.jsonl") for lang in ("en", "de")}
    run_probe(
        model,
        train,
        dev,
        {"en": dev, "de": test_de},
        labels,
        again,
        meta={"objective": "base"},
        max_length=16,
        options={"l2_grid": [1e-3, 1e-1]},
    )
    assert again["de"][1].read_bytes() == outputs["de"][1].read_bytes()


# --------------------------------------------------------------------------- early stopping


class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 2)

    def forward(self, input_ids, attention_mask=None, labels=None):
        logits = self.layer(input_ids.float())
        return type("Out", (), {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits})()

    def save_pretrained(self, path):
        torch.save(self.state_dict(), f"{path}/w.pt")


class _Tok:
    """A slow-tokenizer stand-in: no fast backend (make_standalone leaves it as it is)."""

    pad_token_id = 0

    def __init__(self):
        self.init_kwargs = {}

    def save_pretrained(self, path):
        pass


@pytest.mark.parametrize("patience, epochs_run", [(None, 6), (2, 4), (1, 3)])
def test_patience_stops_on_the_dev_curve(tmp_path, patience, epochs_run):
    scores = iter([0.5, 0.6, 0.55, 0.58, 0.7, 0.4])  # best at epoch 2, then 2 worse epochs
    features = [{"input_ids": [1, 0], "labels": 0}, {"input_ids": [0, 1], "labels": 1}]
    summary = train_with_dev_selection(
        _Linear(),
        _Tok(),
        features,
        lambda m: {"accuracy": next(scores), "loss": 1.0},
        {"epochs": 6, "batch_size": 2, "patience": patience, "bf16": False},
        seed=1,
        out_dir=tmp_path / "model",
        history_path=tmp_path / "h.jsonl",
        dev_metrics_path=tmp_path / "dev.json",
        primary_metric="accuracy",
        device=torch.device("cpu"),
    )
    assert summary["epochs_run"] == epochs_run
    assert len((tmp_path / "h.jsonl").read_text().splitlines()) == epochs_run
    dev = json.loads((tmp_path / "dev.json").read_text())
    assert dev["epoch"] == (5 if patience is None else 2)
    assert dev["stopped_early"] == (patience is not None) and not math.isnan(dev["metrics"]["accuracy"])


# --------------------------------------------------------------------------- translate-train comparability


def test_matched_english_keeps_the_translated_documents_in_their_order(tmp_path):
    from alignxfer.matched import matched_english

    en = _jsonl(tmp_path / "train.en.jsonl", [{"doc_id": d, "text": f"english {d}", "label": "x"} for d in "abcde"])
    de = _jsonl(tmp_path / "train.de.jsonl", [{"doc_id": d, "text": f"deutsch {d}", "label": "x"} for d in "dba"])
    counts = matched_english(en, de, tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["doc_id"] for r in rows] == ["d", "b", "a"] and rows[0]["text"] == "english d"
    assert counts == {"docs": 3, "english_available": 5}
    bad = _jsonl(tmp_path / "train.ja.jsonl", [{"doc_id": "z", "text": "z", "label": "x"}])
    with pytest.raises(ValueError, match="no English original"):
        matched_english(en, bad, tmp_path / "bad.jsonl")


def test_readout_settings_plan_their_jobs(tmp_path):
    """The smoke study with every readout on plans one matched job per arm x language, one delex
    evaluation and one probe per arm (dry run, no job runs)."""
    from tests.workflow_helpers import planned_jobs, smoke_config, snakemake

    config = smoke_config(
        tmp_path,
        tasks={
            "topic": {
                "settings": ["zero_shot", "translate_train", "zero_shot_delex", "probe", "zero_shot_matched"],
                "translate_train_languages": None,
            }
        },
    )
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", "--cores", "2"))
    assert jobs["zero_shot_matched"] == jobs["translate_train"] == 12
    assert jobs["prepare_matched"] == 2 and jobs["evaluate_zero_shot_delex"] == 6 and jobs["probe"] == 6
    assert jobs["retrieval_string_match"] == 1 and jobs["prepare_delex"] == 1 and jobs["retrieval_paired"] == 1


def test_holm_and_the_paired_table():
    from alignxfer.paired import holm, render_retrieval_comparisons

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    rows = [
        {"objective": arm, "reference": "base", "lang": "de", "key": "correct", "diff": d, "p_value": p}
        for arm, d, p in (("mlm", 0.02, 0.01), ("weam", -0.01, 0.04))
    ]
    text = render_retrieval_comparisons(rows)
    assert "| mlm | +2.0 (p=0.02)* |" in text and "| weam | -1.0 (p=0.04)* |" in text
