"""Preparation: normalisation, cleaning, the split by document, leakage, determinism, isolation."""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path

import pytest

from alignxfer.corpus import normalize, prepare_english, prepare_pair, split_of

SEED = 13
FRACTIONS = {"test": 0.15, "dev": 0.05, "train": 0.20}
LABELS = ["libs", "devel", "games", None]
BOILERPLATE = ("This package contains the development files.", "Dieses Paket enthält die Entwicklungsdateien.")
SMALL = {
    "min_words": 1,
    "max_words": 200,
    "max_length_ratio": 4.0,
    "invalid_utf8": "error",
    "split": FRACTIONS,
    "max_pretrain_pairs": 300,
    "max_train_docs": 40,
    "max_dev_docs": 10,
    "max_test_docs": 25,
    "max_retrieval_pairs": 30,
}


def write_jsonl(path, records):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def make_corpus(folder: Path, n_docs: int = 400):
    """en.jsonl plus en-de / en-fr pair files with overlapping but different document sets.

    Every fifth document ends with a boilerplate paragraph shared across documents, so that a
    test document's unit also occurs in pre-training documents (which must not keep it).
    """
    rng = random.Random(0)
    english = []
    pairs = {"de": [], "fr": []}
    for i in range(n_docs):
        doc_id = f"{i:032x}"
        label = LABELS[i % len(LABELS)]
        n_units = 1 + i % 3
        en = [f"synopsis number {i} of package {rng.randint(0, 10**6)}"]
        en += [f"Paragraph {k} of document {i} says something about topic {label}." for k in range(1, n_units)]
        de = [f"Kurzbeschreibung Nummer {i}"] + [
            f"Absatz {k} des Dokuments {i} über Thema {label}." for k in range(1, n_units)
        ]
        fr = [f"résumé numéro {i}"] + [
            f"Paragraphe {k} du document {i} sur le thème {label}." for k in range(1, n_units)
        ]
        if i % 5 == 0:
            en.append(BOILERPLATE[0])
            de.append(BOILERPLATE[1])
            fr.append("Ce paquet contient les fichiers de développement.")
        english.append({"doc_id": doc_id, "units": en, "label": label, "section": None, "packages": [f"p{i}"]})
        if i % 3 != 0:
            pairs["de"].append({"doc_id": doc_id, "en": en, "xx": de, "label": label})
        if i % 2 == 0:
            pairs["fr"].append({"doc_id": doc_id, "en": en, "xx": fr, "label": label})
    write_jsonl(folder / "en.jsonl", english)
    for lang, docs in pairs.items():
        write_jsonl(folder / f"en-{lang}.jsonl", docs)
    return folder


def english_out(root: Path) -> dict:
    return {
        "train": root / "topic/train.en.jsonl",
        "dev": root / "topic/dev.en.jsonl",
        "test": root / "topic/test.en.jsonl",
        "labels": root / "topic/labels.json",
        "summary": root / "summary/en.json",
    }


def pair_out(root: Path, lang: str) -> dict:
    return {
        "pretrain_en": root / f"pretrain/en-{lang}.en",
        "pretrain_xx": root / f"pretrain/en-{lang}.{lang}",
        "pretrain_ids": root / f"pretrain/en-{lang}.ids",
        "train": root / f"topic/train.{lang}.jsonl",
        "dev": root / f"topic/dev.{lang}.jsonl",
        "test": root / f"topic/test.{lang}.jsonl",
        "retrieval": root / f"retrieval/en-{lang}.jsonl",
        "summary": root / f"summary/en-{lang}.json",
    }


def run(corpus: Path, root: Path, langs=("de",), options=SMALL, english_docs=False):
    prepare_english(corpus / "en.jsonl", english_out(root), options, SEED)
    summaries = {}
    for lang in langs:
        summaries[lang] = prepare_pair(
            corpus / f"en-{lang}.jsonl",
            lang,
            pair_out(root, lang),
            options,
            SEED,
            english_train=root / "topic/train.en.jsonl",
            english_dev=root / "topic/dev.en.jsonl",
            english_docs=corpus / "en.jsonl" if english_docs else None,
        )
    return summaries


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


# ----------------------------------------------------------------------------- split, normalize


def test_split_of_is_a_pure_function_of_seed_and_id():
    ids = [f"doc{i}" for i in range(4000)]
    pools = [split_of(i, SEED, FRACTIONS) for i in ids]
    assert pools == [split_of(i, SEED, dict(FRACTIONS)) for i in ids]
    counts = collections.Counter(pools)
    for name, frac in {**FRACTIONS, "pretrain": 0.6}.items():
        assert abs(counts[name] / len(ids) - frac) < 0.03
    assert pools != [split_of(i, SEED + 1, FRACTIONS) for i in ids]
    assert {split_of(i, SEED, {"test": 0, "dev": 0, "train": 0}) for i in ids[:50]} == {"pretrain"}
    assert {split_of(i, SEED, {"test": 1.0}) for i in ids[:50]} == {"test"}
    with pytest.raises(ValueError):
        split_of("x", SEED, {"test": 0.7, "dev": 0.2, "train": 0.2})


def test_normalize():
    assert normalize("  e\u0301te\u0301 \t\n à\u00a0la\u3000plage  ") == "été à la plage"
    assert normalize("a\x00b\x07c\u00add\u200be\ufefff") == "abcdef"
    assert normalize("line\r\nbreak\x85here") == "line break here"
    assert normalize("\u200d") == "\u200d"  # joiners carry meaning in some scripts
    assert normalize("") == ""


# ----------------------------------------------------------------------------- cleaning


def test_cleaning_drop_reasons(tmp_path):
    long = " ".join(["word"] * 12)
    docs = [
        {
            "doc_id": "a",
            "en": [
                "Hello world.",
                "  ",
                "Same text",
                "one two three four five six seven eight nine ten",
                long,
                "A fine pair here",
                "Hello  world.",
            ],
            "xx": ["Hallo Welt.", "leer", "Same text", "eins", "lang " * 12, "Ein schönes Paar hier", "Hallo Welt."],
            "label": None,
        },
        {
            "doc_id": "b",
            "en": ["Hello world.", "日本語"],
            "xx": ["Hallo\u00a0Welt.", "日本語のテキスト"],
            "label": None,
        },
    ]
    write_jsonl(tmp_path / "en-xx.jsonl", docs)
    options = {**SMALL, "max_words": 10, "min_words": 1, "split": {"test": 0, "dev": 0, "train": 0}}
    s = prepare_pair(tmp_path / "en-xx.jsonl", "xx", pair_out(tmp_path / "o", "xx"), options, SEED)
    assert s["drops"] == {
        "empty": 1,
        "identical": 1,
        "too_short": 0,
        "too_long": 1,
        "length_ratio": 1,
        "test_overlap": 0,
        "duplicate": 2,
    }
    en = (tmp_path / "o/pretrain/en-xx.en").read_text().splitlines()
    xx = (tmp_path / "o/pretrain/en-xx.xx").read_text().splitlines()
    assert sorted(zip(en, xx)) == sorted(
        [("Hello world.", "Hallo Welt."), ("A fine pair here", "Ein schönes Paar hier"), ("日本語", "日本語のテキスト")]
    )
    assert s["pools"]["pretrain"]["clean_pairs"] == 3 and s["clean_pairs"] == 3
    # the first reason that fires is counted: with min_words 2, "eins" is too short (not a ratio outlier)
    s = prepare_pair(tmp_path / "en-xx.jsonl", "xx", pair_out(tmp_path / "p", "xx"), {**options, "min_words": 2}, SEED)
    assert s["drops"]["too_short"] == 1 and s["drops"]["length_ratio"] == 0
    # CJK is segmented per character: the ratio may be judged against the file's median ratio
    s = prepare_pair(
        tmp_path / "en-xx.jsonl",
        "xx",
        pair_out(tmp_path / "q", "xx"),
        {**options, "length_ratio_by_median": True},
        SEED,
    )
    assert s["length_ratio_by_median"] is True and s["median_length_ratio_xx_en"] > 0


def test_bad_pair_files(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"doc_id": "a", "en": ["x", "y"], "xx": ["x"], "label": None}])
    with pytest.raises(ValueError, match=r"a\.jsonl:1: document a has 2 English and 1 de units"):
        prepare_pair(tmp_path / "a.jsonl", "de", pair_out(tmp_path / "o", "de"), SMALL, SEED)
    (tmp_path / "b.jsonl").write_bytes(
        b'{"doc_id": "a", "en": ["good"], "xx": ["gut"], "label": null}\n'
        b'{"doc_id": "b", "en": ["bad"], "xx": ["schlecht \xff"], "label": null}\n'
    )
    with pytest.raises(ValueError, match=r"b\.jsonl:2: invalid UTF-8"):
        prepare_pair(tmp_path / "b.jsonl", "de", pair_out(tmp_path / "o", "de"), SMALL, SEED)
    assert not (tmp_path / "o" / "summary").exists()
    s = prepare_pair(
        tmp_path / "b.jsonl", "de", pair_out(tmp_path / "o", "de"), {**SMALL, "invalid_utf8": "replace"}, SEED
    )
    assert s["invalid_utf8_replaced"] == 1 and s["documents"] == 2


# ----------------------------------------------------------------------------- the split


def test_english_topic_files(corpus, tmp_path):
    s = prepare_english(corpus / "en.jsonl", english_out(tmp_path), SMALL, SEED)
    labels = json.loads((tmp_path / "topic/labels.json").read_text())
    assert labels == ["devel", "games", "libs"]
    for split, cap in (("train", 40), ("dev", 10), ("test", 25)):
        recs = read_jsonl(tmp_path / f"topic/{split}.en.jsonl")
        assert 0 < len(recs) <= cap and s["selected"][split] == len(recs)
        assert all(split_of(r["doc_id"], SEED, FRACTIONS) == split for r in recs)
        assert all(r["label"] in labels and r["text"] for r in recs)
        assert all(set(r) == {"doc_id", "text", "label"} for r in recs)
    assert s["drops"]["unlabelled"] == 100


def test_no_test_text_in_pretraining_or_training(corpus, tmp_path):
    run(corpus, tmp_path, langs=("de", "fr"), english_docs=True)
    en_docs = {d["doc_id"]: d for d in read_jsonl(corpus / "en.jsonl")}
    for lang in ("de", "fr"):
        pair_docs = {d["doc_id"]: d for d in read_jsonl(corpus / f"en-{lang}.jsonl")}
        test_ids = {i for i in en_docs if split_of(i, SEED, FRACTIONS) == "test"}
        test_units = {normalize(u) for i in test_ids for u in en_docs[i]["units"]}
        test_units |= {normalize(u) for i in test_ids if i in pair_docs for u in pair_docs[i]["xx"]}
        test_texts = {
            r["text"] for name in ("test.en", f"test.{lang}") for r in read_jsonl(tmp_path / f"topic/{name}.jsonl")
        }
        held_out_ids = (
            {r["doc_id"] for r in read_jsonl(tmp_path / f"topic/test.{lang}.jsonl")}
            | {r["doc_id"] for r in read_jsonl(tmp_path / f"retrieval/en-{lang}.jsonl")}
            | {r["doc_id"] for r in read_jsonl(tmp_path / "topic/test.en.jsonl")}
        )
        assert held_out_ids and held_out_ids <= test_ids

        pre_en = (tmp_path / f"pretrain/en-{lang}.en").read_text(encoding="utf-8").splitlines()
        pre_xx = (tmp_path / f"pretrain/en-{lang}.{lang}").read_text(encoding="utf-8").splitlines()
        pre_ids = (tmp_path / f"pretrain/en-{lang}.ids").read_text().splitlines()
        assert len(pre_en) == len(pre_xx) == len(pre_ids) > 0
        assert not set(pre_ids) & test_ids
        assert all(split_of(i, SEED, FRACTIONS) == "pretrain" for i in pre_ids)
        assert not (set(pre_en) | set(pre_xx)) & test_units  # not even a shared paragraph
        assert not test_texts & (set(pre_en) | set(pre_xx))  # nor a whole test document

        for split in ("train", "dev"):
            for name in (f"{split}.en", f"{split}.{lang}"):
                recs = read_jsonl(tmp_path / f"topic/{name}.jsonl")
                assert not {r["doc_id"] for r in recs} & test_ids
                assert not {r["text"] for r in recs} & test_texts
    s = json.loads((tmp_path / "summary/en-de.json").read_text())
    assert s["drops"]["test_overlap"] > 0  # the shared boilerplate was removed from pre-training


def test_pools_are_disjoint_and_topic_files_follow_english(corpus, tmp_path):
    summaries = run(corpus, tmp_path, langs=("de",))
    ids = {}
    for split in ("train", "dev", "test"):
        ids[split] = [r["doc_id"] for r in read_jsonl(tmp_path / f"topic/{split}.en.jsonl")]
    ids["pretrain"] = (tmp_path / "pretrain/en-de.ids").read_text().splitlines()
    ids["retrieval"] = [r["doc_id"] for r in read_jsonl(tmp_path / "retrieval/en-de.jsonl")]
    for a in ("train", "dev", "test", "pretrain"):
        for b in ("train", "dev", "test", "pretrain"):
            if a < b:
                assert not set(ids[a]) & set(ids[b]), (a, b)
    assert not set(ids["retrieval"]) & (set(ids["train"]) | set(ids["dev"]) | set(ids["pretrain"]))
    pair_ids = {d["doc_id"] for d in read_jsonl(corpus / "en-de.jsonl")}
    for split in ("train", "dev"):
        en = read_jsonl(tmp_path / f"topic/{split}.en.jsonl")
        de = read_jsonl(tmp_path / f"topic/{split}.de.jsonl")
        # exactly the English documents, in their order, where a translation exists
        assert [r["doc_id"] for r in de] == [r["doc_id"] for r in en if r["doc_id"] in pair_ids]
        assert [r["label"] for r in de] == [r["label"] for r in en if r["doc_id"] in pair_ids]
        assert summaries["de"]["topic"][f"{split}_missing"] == len(en) - len(de)
    test_de = read_jsonl(tmp_path / "topic/test.de.jsonl")
    assert 0 < len(test_de) <= SMALL["max_test_docs"] and all(r["label"] for r in test_de)
    assert all(split_of(r["doc_id"], SEED, FRACTIONS) == "test" for r in test_de)
    retrieval = read_jsonl(tmp_path / "retrieval/en-de.jsonl")
    assert 0 < len(retrieval) <= SMALL["max_retrieval_pairs"]
    assert len({r["en"] for r in retrieval}) == len({r["xx"] for r in retrieval}) == len(retrieval)
    assert len(ids["pretrain"]) <= SMALL["max_pretrain_pairs"]


def test_deterministic_and_independent_of_input_order(corpus, tmp_path):
    run(corpus, tmp_path / "a", langs=("de", "fr"))
    run(corpus, tmp_path / "b", langs=("de", "fr"))
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    shuffled = tmp_path / "shuffled"
    for name in ("en.jsonl", "en-de.jsonl", "en-fr.jsonl"):
        recs = read_jsonl(corpus / name)
        random.Random(1).shuffle(recs)
        write_jsonl(shuffled / name, recs)
    run(shuffled, tmp_path / "c", langs=("de", "fr"))
    assert files_of(tmp_path / "a") == files_of(tmp_path / "c")
    run(corpus, tmp_path / "d", langs=("de",), options={**SMALL, "split": FRACTIONS}, english_docs=False)
    other_seed = tmp_path / "e"
    prepare_english(corpus / "en.jsonl", english_out(other_seed), SMALL, SEED + 1)
    assert (other_seed / "topic/test.en.jsonl").read_bytes() != (tmp_path / "a/topic/test.en.jsonl").read_bytes()


def test_adding_a_language_changes_nothing_else(corpus, tmp_path):
    run(corpus, tmp_path / "one", langs=("de",))
    run(corpus, tmp_path / "two", langs=("fr", "de"))
    one, two = files_of(tmp_path / "one"), files_of(tmp_path / "two")
    assert set(one) < set(two)
    assert {k: two[k] for k in one} == one
    assert all("fr" in k for k in set(two) - set(one))


def test_english_selection_from_another_seed_is_refused(corpus, tmp_path):
    prepare_english(corpus / "en.jsonl", english_out(tmp_path), SMALL, SEED + 1)
    with pytest.raises(ValueError, match="another seed or split"):
        prepare_pair(
            corpus / "en-de.jsonl",
            "de",
            pair_out(tmp_path, "de"),
            SMALL,
            SEED,
            english_train=tmp_path / "topic/train.en.jsonl",
        )


def test_unlabelled_source_writes_empty_topic_files(tmp_path):
    docs = [
        {"doc_id": f"url:de:{i}", "en": [f"sentence number {i}"], "xx": [f"Satz Nummer {i}"], "label": None}
        for i in range(1, 200)
    ]
    write_jsonl(tmp_path / "en-de.jsonl", docs)
    s = prepare_pair(tmp_path / "en-de.jsonl", "de", pair_out(tmp_path / "o", "de"), SMALL, SEED)
    for split in ("train", "dev", "test"):
        assert (tmp_path / f"o/topic/{split}.de.jsonl").read_text() == ""
    assert s["pretrain_pairs"] > 0 and s["retrieval_pairs"] > 0 and s["topic"]["test"] == 0


def test_translated_selection_takes_the_most_translated_documents_first(corpus, tmp_path):
    pairs = [corpus / "en-de.jsonl", corpus / "en-fr.jsonl"]
    n_train = {}
    for selection in ("translated", "random"):
        root = tmp_path / selection
        s = prepare_english(
            corpus / "en.jsonl",
            english_out(root),
            {**SMALL, "max_train_docs": 20, "document_selection": selection},
            SEED,
            pair_jsonls=pairs,
        )
        assert s["document_selection"] == selection
        train = read_jsonl(root / "topic/train.en.jsonl")
        assert len(train) == 20 and all(split_of(r["doc_id"], SEED, FRACTIONS) == "train" for r in train)
        # doc i is translated into de when i % 3 != 0 and into fr when i % 2 == 0
        counts = [(int(r["doc_id"], 16) % 3 != 0) + (int(r["doc_id"], 16) % 2 == 0) for r in train]
        n_train[selection] = sum(counts)
        if selection == "translated":
            assert counts == sorted(counts, reverse=True)  # most translated first
            assert sum(s["translated_into"]["train"].values()) == 20
            de = prepare_pair(
                corpus / "en-de.jsonl",
                "de",
                pair_out(root, "de"),
                SMALL,
                SEED,
                english_train=root / "topic/train.en.jsonl",
                english_dev=root / "topic/dev.en.jsonl",
                english_test=root / "topic/test.en.jsonl",
            )
            assert de["topic"]["train_missing"] == sum(int(r["doc_id"], 16) % 3 == 0 for r in train)
        test = read_jsonl(root / "topic/test.en.jsonl")
        test_counts = [(int(r["doc_id"], 16) % 3 != 0) + (int(r["doc_id"], 16) % 2 == 0) for r in test]
        if selection == "translated":
            assert test_counts == sorted(test_counts, reverse=True)
            # the German test set starts with the English test documents that German translates
            de_test = [r["doc_id"] for r in read_jsonl(root / "topic/test.de.jsonl")]
            en_test_in_de = [r["doc_id"] for r in test if int(r["doc_id"], 16) % 3 != 0]
            assert de_test[: len(en_test_in_de)] == sorted(en_test_in_de, key=de_test.index)
            assert set(de_test[: len(en_test_in_de)]) == set(en_test_in_de)
    assert n_train["translated"] > n_train["random"]


def test_translate_train_is_capped_in_english_order(corpus, tmp_path):
    prepare_english(corpus / "en.jsonl", english_out(tmp_path), SMALL, SEED, pair_jsonls=[corpus / "en-de.jsonl"])
    s = prepare_pair(
        corpus / "en-de.jsonl",
        "de",
        pair_out(tmp_path, "de"),
        {**SMALL, "max_translate_train_docs": 5},
        SEED,
        english_train=tmp_path / "topic/train.en.jsonl",
        english_dev=tmp_path / "topic/dev.en.jsonl",
        english_test=tmp_path / "topic/test.en.jsonl",
    )
    train = [r["doc_id"] for r in read_jsonl(tmp_path / "topic/train.de.jsonl")]
    english = [r["doc_id"] for r in read_jsonl(tmp_path / "topic/train.en.jsonl")]
    assert len(train) == s["topic"]["train"] == 5
    assert train == [i for i in english if int(i, 16) % 3 != 0][:5]
    assert s["topic"]["test_in_english_test"] > 0


def test_unknown_document_selection_is_refused(corpus, tmp_path):
    with pytest.raises(ValueError, match="prepare.document_selection"):
        prepare_english(corpus / "en.jsonl", english_out(tmp_path), {**SMALL, "document_selection": "best"}, SEED)
