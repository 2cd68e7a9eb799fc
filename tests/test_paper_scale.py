"""Paper scale, offline: the XNLI and MLQA plug-ins on local stand-ins (tiny BERT, datasets saved
with save_to_disk, SQuAD-format JSON), the data loading of alignxfer.tasks.hub, configs/paper.yaml
(validation, checksum helper, the planned DAG), GPU slots and the profiles."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alignxfer.config import ConfigError, load_config, missing_checksums, validate_config
from alignxfer.words import segment, segment_spans
from tests.helpers_tasks import (
    TASK_WORDS,
    XNLI_DE,
    XNLI_EN,
    opus_zip,
    save_squad,
    save_xnli,
    squad_rows,
    write_squad_json,
)

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "configs" / "paper.yaml"


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tests.tiny_model import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("bert") / "model", words=TASK_WORDS, max_position_embeddings=64)


# ----------------------------------------------------------------------------- words


@pytest.mark.parametrize("text", ["Hello, world!", "  die Katze\tsitzt. ", "北京是中国的首都。", "a–b €5 (x)", ""])
def test_segment_spans_give_the_words_of_segment(text):
    assert [text[s:e] for s, e in segment_spans(text)] == segment(text)


# ----------------------------------------------------------------------------- data loading


def test_xnli_from_save_to_disk_folders(tmp_path):
    from alignxfer.tasks.hub import prepare_task_data

    rows = XNLI_EN + [("", "empty premise", 0)]
    save_xnli(tmp_path / "xnli", {"en": rows, "de": XNLI_DE})
    out = {k: tmp_path / f"{k}.jsonl" for k in ("train", "test")}
    out.update(labels=tmp_path / "labels.json", summary=tmp_path / "summary.json")
    source = {"dataset": str(tmp_path / "xnli" / "{lang}"), "config": None, "split": "train", "revision": None}
    parts = {
        "train": {"source": source, "lang": "en", "max_examples": 4},
        "test": {"source": {**source, "split": "test"}, "lang": "de"},
    }
    counts = prepare_task_data("xnli", parts, out, seed=3)
    assert counts["test.examples"] == 6
    test = read_jsonl(out["test"])
    assert test[0] == {"id": "de-0", "premise": XNLI_DE[0][0], "hypothesis": XNLI_DE[0][1], "label": "entailment"}
    assert [r["label"] for r in test] == [
        "entailment",
        "neutral",
        "contradiction",
        "entailment",
        "contradiction",
        "neutral",
    ]
    assert json.loads(out["labels"].read_text()) == ["entailment", "neutral", "contradiction"]
    summary = json.loads(out["summary"].read_text())
    assert summary["parts"]["test"]["source"]["kind"] == "disk"
    assert summary["parts"]["test"]["source"]["dataset"] == str(tmp_path / "xnli" / "de")  # {lang} resolved
    train = summary["parts"]["train"]
    assert train["selected"] == 4  # max_examples, chosen by the seed
    assert (
        train["written"] + sum(train["drops"].values())
        == 4
        == counts["train.examples"] + train["drops"].get("empty_text", 0)
    )


def test_subsampling_picks_the_same_rows_in_every_language():
    from alignxfer.tasks.hub import subsample_indices

    assert subsample_indices(10, None, 1) == list(range(10))
    assert subsample_indices(100, 5, 7) == subsample_indices(100, 5, 7) != subsample_indices(100, 5, 8)
    assert subsample_indices(100, 5, 7) == sorted(subsample_indices(100, 5, 7))


def test_xnli_labels_ids_names_and_missing_gold():
    from collections import Counter

    from alignxfer.tasks import get_task

    rows = [
        {"premise": "p", "hypothesis": "h", "label": 2},
        {"premise": "p", "hypothesis": "h", "label": -1},
        {"premise": "p", "hypothesis": "h", "label": "neutral"},
        {"premise": " ", "hypothesis": "h", "label": 0},
    ]
    drops = Counter()
    records = list(get_task("xnli").records_from_rows(rows, "fr", drops, label_names=None))
    assert [r["label"] for r in records] == ["contradiction", "neutral"]
    assert drops == {"no_gold_label": 1, "empty_text": 1}
    with pytest.raises(ValueError, match="not XNLI's"):
        list(get_task("xnli").records_from_rows(rows, "fr", Counter(), label_names=["yes", "no", "maybe"]))


def test_squad_json_and_answer_offsets(tmp_path):
    from collections import Counter

    from alignxfer.tasks import get_task
    from alignxfer.tasks.hub import load_rows

    rows = squad_rows("de")
    rows[0]["answers"]["answer_start"] = [0]  # wrong offset: moved to the text's occurrence
    rows[1]["answers"] = {"text": ["nirgends"], "answer_start": [3]}  # not in the context: kept, offset -1
    write_squad_json(tmp_path / "test-context-de-question-de.json", rows)
    loaded, provenance = load_rows({"dataset": str(tmp_path / "test-context-{lang}-question-{lang}.json")}, "de")
    assert provenance["kind"] == "squad_json" and len(provenance["sha256"]) == 64 and len(loaded) == 3
    drops = Counter()
    records = list(get_task("mlqa").records_from_rows(loaded, "de", drops))
    assert records[0]["answers"] == [
        {"text": "auf der Matte", "answer_start": rows[0]["context"].index("auf der Matte")}
    ]
    assert records[1]["answers"] == [{"text": "nirgends", "answer_start": -1}]
    assert records[2]["lang"] == "de"
    assert drops == {"answer_offset_moved": 1, "answer_not_in_context": 1}
    with pytest.raises(ValueError, match="no MLQA answer normalisation"):
        list(get_task("mlqa").records_from_rows(loaded, "fr", Counter()))


def test_bad_sources_say_what_to_fix(tmp_path):
    from alignxfer.tasks.hub import load_rows

    with pytest.raises(FileNotFoundError, match="looks like a local path but does not exist"):
        load_rows({"dataset": str(tmp_path / "missing")}, "en")
    with pytest.raises(ValueError, match="needs 'split'"):
        load_rows({"dataset": "facebook/xnli", "config": "en"}, "en")  # refused before any network access
    save_squad(tmp_path / "squad", squad_rows())
    with pytest.raises(ValueError, match=r"has splits \['train', 'validation'\], not 'test'"):
        load_rows({"dataset": str(tmp_path / "squad"), "split": "test"}, "en")
    with pytest.raises(ValueError, match="unknown key"):
        load_rows({"dataset": "x", "name": "y"}, "en")


# ----------------------------------------------------------------------------- XNLI


def test_xnli_pairs_get_segment_ids_and_train(tiny_bert, tmp_path):
    from transformers import AutoTokenizer

    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles, FinetuneFiles
    from alignxfer.tasks.hub import prepare_task_data

    save_xnli(tmp_path / "xnli", {"en": XNLI_EN, "de": XNLI_DE}, with_class_label=False)
    src = lambda lang, split: {"source": {"dataset": str(tmp_path / "xnli" / "{lang}"), "split": split}, "lang": lang}  # noqa: E731
    files = {k: tmp_path / f"{k}.jsonl" for k in ("train", "dev", "test")}
    files["labels"] = tmp_path / "labels.json"
    prepare_task_data(
        "xnli", {"train": src("en", "train"), "dev": src("en", "validation"), "test": src("de", "test")}, files
    )

    task = get_task("xnli")
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    features = task.encode(tokenizer, task.load_examples(files["dev"], ["entailment", "neutral", "contradiction"]), 32)
    first = features[0]
    sep = first["input_ids"].index(tokenizer.sep_token_id)
    assert set(first["token_type_ids"][: sep + 1]) == {0} and set(first["token_type_ids"][sep + 1 :]) == {1}
    assert first["labels"] == 0

    hp = {"epochs": 1, "batch_size": 4, "max_length": 32, "learning_rate": 1e-3, "bf16": False}
    task.finetune(
        FinetuneFiles(
            tiny_bert,
            files["train"],
            files["dev"],
            files["labels"],
            tmp_path / "ft",
            tmp_path / "h.jsonl",
            tmp_path / "dev.json",
        ),
        hp,
        seed=12,
    )
    result = task.evaluate(
        EvalFiles(
            tmp_path / "ft", files["test"], files["labels"], tmp_path / "m.json", tmp_path / "m.predictions.jsonl"
        ),
        {"lang": "de", "seed": 12},
        hp,
    )
    assert result["task"] == "xnli" and result["n"] == 6 and set(result["metrics"]) == {"accuracy", "macro_f1"}
    preds = [json.loads(line) for line in (tmp_path / "m.predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 6 and all(set(p) == {"id", "gold", "pred", "correct", "scores"} for p in preds)
    assert all(
        p["correct"] == int(p["gold"] == p["pred"]) and sum(p["scores"]) == pytest.approx(1, abs=1e-3) for p in preds
    )
    assert sum(p["correct"] for p in preds) / 6 == pytest.approx(result["metrics"]["accuracy"])
    assert 0.0 <= result["majority_baseline"] <= 1.0
    assert json.loads((tmp_path / "dev.json").read_text())["primary_metric"] == "accuracy"


# ----------------------------------------------------------------------------- MLQA


def test_qa_windows_label_the_answer_tokens(tiny_bert):
    from transformers import AutoTokenizer

    from alignxfer.tasks.mlqa import build_features

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    context = "the dog runs in the house . the cat sits on the mat and the fish is in the water"
    answer = "on the mat"
    example = {
        "id": "x",
        "context": context,
        "question": "where does the cat sit ?",
        "lang": "en",
        "answers": [{"text": answer, "answer_start": context.index(answer)}],
    }
    options = {"max_length": 20, "doc_stride": 4, "max_query_length": 8, "max_answer_length": 30, "n_best": 20}
    features = build_features(tokenizer, [example], options, training=False)
    assert len(features) > 2  # a long context becomes several overlapping windows
    labelled = [f for f in features if f["start_positions"]]
    assert labelled, "some window holds the whole answer"
    for f in labelled:
        span = f["input_ids"][f["start_positions"] : f["end_positions"] + 1]
        assert tokenizer.decode(span) == answer
        assert set(f["token_type_ids"][f["start_positions"] : f["end_positions"] + 1]) == {1}
    for f in features:
        assert len(f["input_ids"]) <= 20
        if f not in labelled:
            assert f["start_positions"] == f["end_positions"] == 0
    train = build_features(tokenizer, [example], options, training=True)
    assert "_context" not in train[0] and len(train) == len(features)


def test_qa_prediction_is_the_best_whole_word_span():
    import torch

    from alignxfer.tasks.mlqa import best_spans

    # context tokens at positions 5..9: words 0, 1 (two subwords: 6, 7), 2, 3
    context = [(5, 0, True, True), (6, 1, True, False), (7, 1, False, True), (8, 2, True, True), (9, 3, True, True)]
    start = torch.full((12,), -5.0)
    end = torch.full((12,), -5.0)
    start[7], start[6], end[8] = 9.0, 3.0, 4.0  # 7 starts no word: the best start is 6 (word 1)
    assert best_spans(start, end, context, n_best=20, max_answer_length=30) == (7.0, 1, 2)
    assert best_spans(start, end, context, n_best=20, max_answer_length=2)[1:] != (1, 2)  # 3 tokens is too long


def test_mlqa_finetune_and_evaluate(tiny_bert, tmp_path):
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles, FinetuneFiles
    from alignxfer.tasks.hub import prepare_task_data

    save_squad(tmp_path / "squad", squad_rows("en"))
    write_squad_json(tmp_path / "test-de.json", squad_rows("de"))
    files = {k: tmp_path / f"{k}.jsonl" for k in ("train", "dev", "test")}
    files["labels"] = tmp_path / "labels.json"
    squad = {"dataset": str(tmp_path / "squad")}
    prepare_task_data(
        "mlqa",
        {
            "train": {"source": {**squad, "split": "train"}, "lang": "en"},
            "dev": {"source": {**squad, "split": "validation"}, "lang": "en"},
            "test": {"source": {"dataset": str(tmp_path / "test-{lang}.json")}, "lang": "de"},
        },
        files,
    )
    assert json.loads(files["labels"].read_text()) == []
    task = get_task("mlqa")
    hp = {
        "epochs": 1,
        "batch_size": 4,
        "max_length": 24,
        "learning_rate": 1e-3,
        "bf16": False,
        "doc_stride": 4,
        "max_query_length": 8,
    }
    summary = task.finetune(
        FinetuneFiles(
            tiny_bert,
            files["train"],
            files["dev"],
            files["labels"],
            tmp_path / "ft",
            tmp_path / "h.jsonl",
            tmp_path / "dev.json",
        ),
        hp,
        seed=12,
    )
    assert "dev_f1" in summary and "dev_exact_match" in summary
    result = task.evaluate(
        EvalFiles(tmp_path / "ft", files["test"], files["labels"], tmp_path / "m.json", tmp_path / "p.jsonl"),
        {"lang": "de", "setting": "zero_shot"},
        hp,
    )
    assert result["primary_metric"] == "f1" and set(result["metrics"]) == {"f1", "exact_match"}
    contexts = {r["id"]: r["context"] for r in squad_rows("de")}
    preds = list(read_jsonl(tmp_path / "p.jsonl"))
    for pred in preds:
        assert pred["pred"] in contexts[pred["id"]]  # an exact substring of the context
        assert set(pred) >= {"id", "gold", "pred", "correct", "f1", "exact_match"}  # the predictions contract
    # per-example values average to the metrics (what gather's bootstrap resamples)
    assert sum(p["f1"] for p in preds) / len(preds) == pytest.approx(result["metrics"]["f1"])


def test_qa_options_are_checked():
    from alignxfer.tasks.mlqa import qa_options

    assert qa_options({"max_length": 384})["doc_stride"] == 128
    with pytest.raises(ValueError, match="doc_stride 320 must be smaller"):
        qa_options({"max_length": 384, "doc_stride": 320})
    with pytest.raises(ValueError, match="leaves no room"):
        qa_options({"max_length": 60})


# ----------------------------------------------------------------------------- configs/paper.yaml


def paper_overlay(tmp_path) -> Path:
    """Checksums for configs/paper.yaml: every archive replaced by a file:// stand-in in OPUS's layout."""
    cfg = yaml.safe_load(PAPER.read_text())
    pairs = {}
    for lang, entry in cfg["corpus"]["url"]["pairs"].items():
        pair = entry["url"].rsplit("/", 1)[1].removesuffix(".txt.zip")
        code = entry["xx"]["member"].rsplit(".", 1)[1]
        url, sha = opus_zip(tmp_path / f"{pair}.txt.zip", pair, code, ["Hello world.", "Thank you."], ["x.", "y."])
        pairs[lang] = {"url": url, "sha256": sha}
    path = tmp_path / "paper.checksums.yaml"
    path.write_text(yaml.safe_dump({"corpus": {"url": {"pairs": pairs}}}))
    return path


def merged(*paths) -> dict:
    from alignxfer.config import merge_config

    cfg: dict = {}
    for path in paths:
        merge_config(cfg, yaml.safe_load(Path(path).read_text()))
    return cfg


def test_paper_config_validates_and_asks_only_for_its_checksums():
    cfg = load_config(PAPER)  # plans as shipped: `snakemake -n --configfile configs/paper.yaml`
    problems = missing_checksums(cfg)
    assert len(problems) == 14
    assert all("a url needs its sha256" in p and "python -m alignxfer.sources.url" in p for p in problems)


def test_paper_config_settings(tmp_path):
    cfg = validate_config(merged(PAPER, paper_overlay(tmp_path)))
    assert cfg["base"] == {**cfg["base"], "source": "pretrained", "name": "google-bert/bert-base-multilingual-cased"}
    assert cfg["tokenizer"]["source"] == "pretrained"
    assert cfg["finetuning"]["seeds"] == [12, 156, 78, 37, 8]
    assert (cfg["finetuning"]["learning_rate"], cfg["finetuning"]["batch_size"], cfg["finetuning"]["max_length"]) == (
        5e-5,
        32,
        128,
    )
    assert (cfg["pretraining"]["weam"]["mask_prob"], cfg["pretraining"]["weam"]["lambda"]) == (0.3, 1.0)
    assert cfg["tasks"]["xnli"]["enabled"] and cfg["tasks"]["mlqa"]["enabled"] and not cfg["tasks"]["topic"]["enabled"]
    assert len(cfg["tasks"]["xnli"]["languages"]) == 14 and cfg["gpus_per_job"] == 1
    assert "{lang}" in cfg["tasks"]["xnli"]["test"]["config"]  # schema defaults filled in


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {"tasks": {"mlqa": {"enabled": True, "max_length": 256, "doc_stride": 200}}},
            "tasks.mlqa.doc_stride: 200 must be smaller",
        ),
        (
            {"tasks": {"mlqa": {"enabled": True}}},
            "finetuning.max_length (tasks.mlqa.max_length is null): 64 leaves no room",
        ),
        (
            {"tasks": {"xnli": {"enabled": True, "test": {"dataset": "facebook/xnli", "config": "{lang}"}}}},
            "tasks.xnli.test.split: a hub dataset ('facebook/xnli') needs the split",
        ),
        ({"tasks": {"xnli": {"languages": ["de", "klingon"]}}}, "tasks.xnli.languages[1]: 'klingon' is not allowed"),
        ({"tasks": {"mlqa": {"languages": ["fr"]}}}, "tasks.mlqa.languages[0]: 'fr' is not allowed"),
        (
            {"tasks": {"xnli": {"train": {"dataset": "x", "splits": "train"}}}},
            "tasks.xnli.train: unknown key(s) ['splits']",
        ),
        ({"gpus_per_job": 2}, "pretraining.budget.gradient_accumulation: 1 is not a multiple of gpus_per_job (2)"),
    ],
)
def test_bad_task_config_names_the_key(change, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(change))
    assert expected in str(err.value)


def test_checksum_helper_fills_in_and_seeds_the_cache(tmp_path, capsys):
    from alignxfer.sources.url import download, main

    url, sha = opus_zip(tmp_path / "de-en.txt.zip", "de-en", "de", ["Hello."], ["Hallo."])
    config = tmp_path / "study.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "corpus": {
                    "source": "url",
                    "url": {
                        "pairs": {
                            "de": {
                                "format": "moses",
                                "url": url,
                                "en": {"member": "TED2020.de-en.en"},
                                "xx": {"member": "TED2020.de-en.de"},
                            }
                        }
                    },
                }
            }
        )
    )
    cache = tmp_path / "cache"
    assert main([str(config), "--cache-dir", str(cache), "--output", str(tmp_path / "sums.yaml")]) == 0
    overlay = yaml.safe_load((tmp_path / "sums.yaml").read_text())
    assert overlay == {"corpus": {"url": {"pairs": {"de": {"sha256": sha}}}}}
    path, reused = download(url, sha, cache)  # the download rule finds the file already there
    assert reused and path.read_bytes() == (tmp_path / "de-en.txt.zip").read_bytes()


# ----------------------------------------------------------------------------- GPUs


def test_gpu_slots_are_exclusive_and_released(tmp_path):
    from alignxfer.devices import claim_gpu, claim_slot

    with claim_slot(tmp_path, 2) as first, claim_slot(tmp_path, 2) as second:
        assert {first, second} == {0, 1}
    with claim_slot(tmp_path, 2) as again:
        assert again == 0  # released when the blocks ended
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALIGNXFER_ALLOW_CPU", "1")
        with claim_gpu(tmp_path) as index:  # no GPU here, CPU allowed: nothing to claim, no lock files written
            assert index is None


# ----------------------------------------------------------------------------- the paper DAG and profiles


def expected_paper_jobs(cfg: dict) -> dict:
    arms = len(cfg["pretraining"]["objectives"])
    seeds = len(cfg["finetuning"]["seeds"])
    langs = len(cfg["corpus"]["languages"])
    xnli, mlqa = len(cfg["tasks"]["xnli"]["languages"]), len(cfg["tasks"]["mlqa"]["languages"])
    # alignment quality: one job per corpus language with a gold set (the shipped en-fr), one table
    from alignxfer.alignment_quality import gold_sets

    gold = len(set(gold_sets(cfg)) & set(cfg["corpus"]["languages"])) if cfg["alignment"]["quality"]["enabled"] else 0
    return {
        **({"alignment_gold": gold, "alignment_quality": 1} if gold else {}),
        "download_pair": langs,
        "prepare_pair": langs,
        "segment_pair": langs,
        "align": 2 * langs,
        "symmetrize": langs,
        "intersect": langs,
        "tokenize_pair": langs,
        "save_tokenizer": 1,
        "load_base": 1,
        "pretrain": arms - 1,
        "prepare_task_english": 2,
        "prepare_task_test": xnli + mlqa,
        "prepare_task_translated": xnli + mlqa,
        "finetune": 2 * arms * seeds,
        "evaluate_zero_shot_xnli": arms * seeds,
        "evaluate_zero_shot_mlqa": arms * seeds,
        "translate_train": arms * seeds * (xnli + mlqa),
        "retrieval": arms,
        "gather": 1,
        "environment": 1,
        "all": 1,
        "retrieval_string_match": 1,
        "retrieval_paired": 1,  # model-free baseline, McNemar table (rules/readouts.smk)
    }


def test_paper_config_plans_the_full_dag(tmp_path):
    overlay = paper_overlay(tmp_path)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-q",
        "rules",
        "--cores",
        "2",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(PAPER),
        str(overlay),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    stats = result.stdout.split("Job stats:", 1)[1]
    jobs = dict(
        (m.group(1), int(m.group(2))) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m.group(1) != "total"
    )
    assert jobs == expected_paper_jobs(validate_config(merged(PAPER, overlay)))
    # the SLURM profile's per-rule settings name rules of this DAG
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "profile.yaml").read_text())
    assert profile["executor"] == "slurm" and set(profile["set-resources"]) <= set(jobs)


def test_profiles_use_snakemake_9_names():
    slurm = yaml.safe_load((REPO / "profiles" / "slurm" / "profile.yaml").read_text())
    local = yaml.safe_load((REPO / "profiles" / "local" / "profile.yaml").read_text())
    for rule, res in slurm["set-resources"].items():
        assert set(res) <= {
            "slurm_partition",
            "runtime",
            "mem_mb",
            "cpus_per_task",
            "gpu",
            "gres",
            "slurm_extra",
            "nodes",
        }, rule
    assert {"slurm_partition", "runtime", "mem_mb"} <= set(slurm["default-resources"])
    # a data-parallel pre-training job stays on one host; its memory comes from the rule (per GPU)
    assert slurm["set-resources"]["pretrain"]["nodes"] == 1 and "mem_mb" not in slurm["set-resources"]["pretrain"]
    assert slurm["local-cores"] >= 1
    assert local["resources"]["gpu"] >= 1 and local["cores"] == "all"


def test_paper_config_as_shipped_plans_and_warns_about_checksums(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-q",
        "rules",
        "--cores",
        "2",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(PAPER),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.count("WARNING: corpus.url.pairs.") == 14
    assert re.search(r"^translate_train\s+600$", result.stdout, re.M)
