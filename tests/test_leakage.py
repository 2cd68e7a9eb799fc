"""No test text reaches pre-training or training, on the DDTP fixture mirror (real apt-get, real
Packages/Translation records with sibling packages of one source and shared paragraphs).

Each check here fails when its safeguard is removed (measured when it was written):
* grouping by source package (``corpus.group_of`` returning the document id): siblings of one
  source land in different pools;
* the English exclusion (``english_docs`` not passed to ``prepare_pair``): a unit of an English
  test document without a Japanese translation stays in the Japanese pre-training bitext.
"""

from __future__ import annotations

import collections
import json
import shutil
import sys
from pathlib import Path

import pytest

from alignxfer.corpus import LeakIndex, normalize, pool_of, prepare_english, prepare_pair
from alignxfer.sources.ddtp import DdtpSource

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from make_ddtp_mirror import make_mirror  # noqa: E402

SEED = 13
OPTIONS = {
    "split": {"test": 0.2, "dev": 0.1, "train": 0.3},
    "max_pretrain_pairs": 4000,
    "max_train_docs": 120,
    "max_dev_docs": 40,
    "max_test_docs": 60,
    "max_retrieval_pairs": 60,
}
LANGS = ("de", "ja")

pytestmark = pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian/Ubuntu)")


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def lines(path):
    return Path(path).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("leak")
    mirror = make_mirror(root / "mirror")
    src = DdtpSource({"mirror": mirror.as_uri()})
    corpus = root / "corpus"
    src.fetch_english(root / "cache", corpus / "en.jsonl", corpus / "en.manifest.json")
    for lang in LANGS:
        src.fetch_pair(
            lang,
            root / "cache",
            corpus / f"en-{lang}.jsonl",
            corpus / f"en-{lang}.manifest.json",
            english_jsonl=corpus / "en.jsonl",
        )
    out = root / "out"
    eng = {k: out / f"topic/{k}.en.jsonl" for k in ("train", "dev", "test")}
    eng.update(labels=out / "topic/labels.json", summary=out / "summary/en.json")
    summaries = {
        "en": prepare_english(
            corpus / "en.jsonl", eng, OPTIONS, SEED, pair_jsonls=[corpus / f"en-{lang}.jsonl" for lang in LANGS]
        )
    }
    for lang in LANGS:
        files = {
            "pretrain_en": out / f"pretrain/en-{lang}.en",
            "pretrain_xx": out / f"pretrain/en-{lang}.{lang}",
            "pretrain_ids": out / f"pretrain/en-{lang}.ids",
            "retrieval": out / f"retrieval/en-{lang}.jsonl",
            "summary": out / f"summary/en-{lang}.json",
        }
        files.update({k: out / f"topic/{k}.{lang}.jsonl" for k in ("train", "dev", "test")})
        summaries[lang] = prepare_pair(
            corpus / f"en-{lang}.jsonl",
            lang,
            files,
            OPTIONS,
            SEED,
            english_train=eng["train"],
            english_dev=eng["dev"],
            english_test=eng["test"],
            english_docs=corpus / "en.jsonl",
        )
    return {"corpus": corpus, "out": out, "summaries": summaries}


def test_documents_carry_their_source_package(prepared):
    docs = read_jsonl(prepared["corpus"] / "en.jsonl")
    by_source = collections.Counter(d["source"] for d in docs)
    assert by_source["src0"] == 3  # "Source: src0 (1.0-1)": the version is not part of the name
    assert sum(1 for n in by_source.values() if n == 3) == 30
    assert all("source" in d for d in read_jsonl(prepared["corpus"] / "en-de.jsonl"))


def test_sibling_packages_share_a_pool(prepared):
    """Where the documents of a source went (every output file): one pool per source package."""
    out = prepared["out"]
    source = {d["doc_id"]: d["source"] for d in read_jsonl(prepared["corpus"] / "en.jsonl")}
    where = collections.defaultdict(set)
    for split in ("train", "dev", "test"):
        for name in ["en", *LANGS]:
            for r in read_jsonl(out / f"topic/{split}.{name}.jsonl"):
                where[source[r["doc_id"]]].add(split)
    for lang in LANGS:
        for doc_id in lines(out / f"pretrain/en-{lang}.ids"):
            where[source[doc_id]].add("pretrain")
        for r in read_jsonl(out / f"retrieval/en-{lang}.jsonl"):
            where[source[r["doc_id"]]].add("test")
    families = [s for s in where if s.startswith("src")]
    assert len(families) >= 25
    split_up = {s: sorted(p) for s, p in where.items() if len(p) > 1}
    assert not split_up, f"source packages split across pools: {split_up}"


def test_no_unit_or_sentence_of_any_test_document_in_training_text(prepared):
    corpus, out = prepared["corpus"], prepared["out"]
    english = read_jsonl(corpus / "en.jsonl")
    test = LeakIndex()
    test_ids = set()
    for d in english:
        if pool_of(d, SEED, OPTIONS["split"]) == "test":
            test_ids.add(d["doc_id"])
            for u in d["units"]:
                test.add(normalize(u))
    for lang in LANGS:
        for d in read_jsonl(corpus / f"en-{lang}.jsonl"):
            if d["doc_id"] in test_ids:
                for u in d["xx"]:
                    test.add(normalize(u))
    # the fixture holds the case the English exclusion is for: an English test document without a
    # Japanese translation shares a unit with a Japanese pre-training document
    ja_ids = {d["doc_id"] for d in read_jsonl(corpus / "en-ja.jsonl")}
    untranslated_test_units = LeakIndex()
    for d in english:
        if d["doc_id"] in test_ids and d["doc_id"] not in ja_ids:
            for u in d["units"]:
                untranslated_test_units.add(normalize(u))
    ja_pretrain_pool = [
        u
        for d in read_jsonl(corpus / "en-ja.jsonl")
        if pool_of(d, SEED, OPTIONS["split"]) == "pretrain"
        for u in d["en"]
    ]
    assert any(untranslated_test_units.leaks(normalize(u)) for u in ja_pretrain_pool)

    for lang in LANGS:
        written = lines(out / f"pretrain/en-{lang}.en") + lines(out / f"pretrain/en-{lang}.{lang}")
        assert written
        assert [u for u in written if test.leaks(u)] == []
    for split in ("train", "dev"):
        for name in ["en", *LANGS]:
            recs = read_jsonl(out / f"topic/{split}.{name}.jsonl")
            assert recs
            # a training text holds no test unit or sentence (units are joined by one space)
            leaked = [r["doc_id"] for r in recs if any(k in r["text"].casefold() for k in test.keys)]
            assert leaked == [], (split, name)
    for name in ["en", *LANGS]:
        checks = prepared["summaries"][name]["leak_check"]
        assert checks["grouping"] == "source package"
        assert set(checks["test_documents_sharing_text_with"].values()) == {0}
    assert prepared["summaries"]["ja"]["drops"]["test_overlap"] > 0
