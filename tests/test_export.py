"""Saved models behave like the workflow without this package: the tokenizer in every model folder
splits raw text as :func:`alignxfer.words.segment` does, ``model_max_length`` is set, every model
folder has a model card, and ``transformers.pipeline`` reproduces the workflow's predictions."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from alignxfer.modelcard import read_card
from alignxfer.tokenization import (
    build_wordpiece,
    encode_words,
    make_standalone,
    wrap_fast,
)
from alignxfer.words import segment

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

from make_ddtp_mirror import ADJS, NOUNS, SECTIONS, VERBS  # noqa: E402  (tests/fixtures on the path first)

# Chinese for the mirror's word lists (the mirror has de, ja, fr)
ZH = {
    "library": "库",
    "game": "游戏",
    "network": "网络",
    "font": "字体",
    "science": "科学",
    "data": "数据",
    "tool": "工具",
    "file": "文件",
    "user": "用户",
    "server": "服务器",
    "image": "图像",
    "text": "文本",
    "small": "小的",
    "fast": "快速的",
    "simple": "简单的",
    "free": "自由的",
    "new": "新的",
    "graphical": "图形的",
    "provides": "提供",
    "reads": "读取",
    "writes": "写入",
    "shows": "显示",
    "sends": "发送",
}

#: real DDTP translations of the fixture mirror (tests/fixtures/ddtp), a line each
DDTP_TEXTS = {
    "ja": [
        "ウィジェットを処理するツール Foo はウィジェットを素早く確実に処理します。",
        "bar ライブラリ bar ライブラリは bar を実装します。",
    ],
    "zh": ["bar 库 bar 库实现了 bar。"],
    "de": ["Ein Werkzeug, das Widgets verarbeitet (schnell & zuverlässig) — »Foo«."],
}

#: characters of many kinds: scripts, combining marks, punctuation, symbols, odd spaces, controls
FUZZ_CHARS = (
    "abcXYZ019éüßñ"
    "\u0301\u0308"
    "абвЖ"
    "αβΩ"
    "한국어"
    "العربية"
    "हिन्दी"
    "ไทย"
    "日本語中文字"
    "ひらがなカタカナｶﾀｶﾅー"
    "々〆"
    ".,;:!?'\"()[]{}<>-_/\\@#$%^&*+=|~`"
    "«»„“”…—–·•§©®™°±×÷€£¥"
    "。、「」『』！？（）：；～"
    "😀👍"
    " \t\n\u00a0\u2003\u3000\u200b\u200d\ufeff\x1c\x1f\x7f\ufffd\ue000"
)


def _sentences(rng: random.Random, lang: str, topic: str) -> str:
    adj, verb, obj = rng.choice(sorted(ADJS)), rng.choice(sorted(VERBS)), rng.choice(sorted(NOUNS))
    if lang == "en":
        return f"This {adj} {topic} {verb} {obj} ."
    if lang == "de":
        return f"Diese {ADJS[adj][0]} {NOUNS[topic][0]} {VERBS[verb][0]} {NOUNS[obj][0]} ."
    if lang == "ja":
        return f"この{ADJS[adj][1]}{NOUNS[topic][1]}は{NOUNS[obj][1]}を{VERBS[verb][1]}。"
    return f"这个{ZH[adj]}{ZH[topic]}{ZH[verb]}{ZH[obj]}。"


def _topic_data(root: Path, docs: int = 60, seed: int = 0) -> dict:
    """A topic dataset in en/de/ja/zh (a document = 2 sentences about its section's noun)."""
    rng = random.Random(seed)
    labels = sorted(SECTIONS)
    rows = {lang: [] for lang in ("en", "de", "ja", "zh")}
    for i in range(docs):
        label = labels[i % len(labels)]
        for lang, items in rows.items():
            text = " ".join(_sentences(rng, lang, SECTIONS[label]) for _ in range(2))
            items.append({"doc_id": f"d{i}", "text": text, "label": label})
    root.mkdir(parents=True, exist_ok=True)
    (root / "labels.json").write_text(json.dumps(labels))
    paths = {}
    for lang, items in rows.items():
        for part, chunk in (("train", items[:40]), ("dev", items[40:48]), ("test", items[48:])):
            if part == "test":  # real translations, and one input far longer than any model's positions
                extra = [
                    {"doc_id": f"ddtp{k}", "text": t, "label": "libs"} for k, t in enumerate(DDTP_TEXTS.get(lang, []))
                ]
                long_text = " ".join(x["text"] for x in items) * 3
                chunk = chunk + extra + [{"doc_id": "long", "text": long_text, "label": "games"}]
            path = root / f"{part}.{lang}.jsonl"
            path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in chunk), encoding="utf-8")
            paths[(part, lang)] = path
    # one training set of every language (a tiny random base does not transfer zero-shot; trained
    # on all four, the classifier's predictions differ between documents in every language)
    train_all = root / "train.all.jsonl"
    train_all.write_text("".join(paths[("train", lang)].read_text(encoding="utf-8") for lang in rows), encoding="utf-8")
    paths[("train", "all")] = train_all
    return {"labels": root / "labels.json", "paths": paths, "rows": rows}


def _tokenizers(tmp_path, lines) -> tuple:
    """The workflow's tokenizer (trained, standalone) and the same vocabulary with BERT's pre-tokenizer."""
    from alignxfer.tokenization import train_tokenizer, write_aligner_input

    corpora = []
    for lang in ("de", "ja", "zh"):
        (tmp_path / f"b.{lang}.en").write_text("".join(s + "\n" for s in lines["en"]), encoding="utf-8")
        (tmp_path / f"b.{lang}").write_text("".join(s + "\n" for s in lines[lang]), encoding="utf-8")
        corpora.append(tmp_path / f"corpus.{lang}.txt")
        write_aligner_input(tmp_path / f"b.{lang}.en", tmp_path / f"b.{lang}", corpora[-1])
    train_tokenizer(corpora, tmp_path / "tok", vocab_size=400)
    new = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    old = wrap_fast(build_wordpiece(vocab=new.get_vocab()))
    return new, old, corpora


def _lines(data) -> dict:
    return {lang: [r["text"] for r in rows] for lang, rows in data["rows"].items()}


def test_saved_tokenizer_splits_raw_text_as_the_workflow_and_keeps_its_ids(tmp_path):
    data = _topic_data(tmp_path / "data")
    new, old, _ = _tokenizers(tmp_path, _lines(data))
    rng = random.Random(1)
    fuzz = ["".join(rng.choice(FUZZ_CHARS) for _ in range(rng.randint(1, 40))) for _ in range(400)]
    texts = (
        [t for lang in _lines(data).values() for t in lang]
        + [t for texts_ in DDTP_TEXTS.values() for t in texts_]
        + fuzz
    )
    for text in texts:
        words = segment(text)
        workflow_new = new(words, is_split_into_words=True)["input_ids"] if words else new("")["input_ids"]
        workflow_old = old(words, is_split_into_words=True)["input_ids"] if words else old("")["input_ids"]
        assert workflow_new == workflow_old, text  # the workflow's own ids do not change
        assert new(text)["input_ids"] == workflow_new, (text, words)  # raw text = the workflow's input
    # what the export fixes: BERT's pre-tokenizer keeps a kana run as one word, mostly [UNK]
    ja = "このライブラリはファイルを読む。"
    assert new.tokenize(ja) != old.tokenize(ja) and old.unk_token in old.tokenize(ja)
    assert old.unk_token not in new.tokenize(ja)
    assert encode_words(new, [segment(ja)]) == encode_words(old, [segment(ja)])


def test_make_standalone_leaves_other_pre_tokenizers_alone():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    fast = wrap_fast(tok)
    make_standalone(fast, 32)
    assert type(fast.backend_tokenizer.pre_tokenizer).__name__ == "Metaspace"
    assert fast.model_max_length == 32 and fast.init_kwargs["alignxfer_segmentation"] is False


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """The real chain on the fixtures: tokenizer -> base (pretrain_base) -> fine-tuned classifier."""
    from alignxfer.pretraining import pretrain_base
    from alignxfer.tasks.base import FinetuneFiles
    from alignxfer.tasks.topic import TopicTask
    from alignxfer.tokenization import tokenize_pair
    from tests.helpers_models import TINY_ARCH

    root = tmp_path_factory.mktemp("export")
    data = _topic_data(root / "data")
    _, _, corpora = _tokenizers(root, _lines(data))
    tokenized = []
    for corpus in corpora:
        tokenized.append(root / "tokenized" / corpus.stem)
        tokenize_pair(corpus, root / "tok", tokenized[-1])
    training = {"objective": "mlm", "steps": 4, "batch_size": 8, "max_length": 24, "learning_rate": 1e-3}
    pretrain_base(
        tokenized,
        root / "tok",
        root / "base",
        root / "base.history.jsonl",
        architecture=TINY_ARCH,
        training=training,
        seed=0,
        bf16=False,
        threads=1,
    )
    hparams = {"epochs": 4, "batch_size": 8, "max_length": 24, "learning_rate": 3e-3, "bf16": False}
    task = TopicTask()
    task.finetune(
        FinetuneFiles(
            root / "base",
            data["paths"][("train", "all")],
            data["paths"][("dev", "en")],
            data["labels"],
            root / "model",
            root / "history.jsonl",
            root / "dev.json",
        ),
        hparams=hparams,
        seed=1,
        threads=1,
    )
    return root, data, hparams, task


@pytest.mark.parametrize("lang", ["en", "de", "ja", "zh"])
def test_pipeline_reproduces_the_workflow_predictions(finetuned, lang):
    from transformers import pipeline

    from alignxfer.tasks.base import EvalFiles

    root, data, hparams, task = finetuned
    test = data["paths"][("test", lang)]
    meta = {"task": "topic", "setting": "zero_shot", "objective": "base", "lang": lang, "train_lang": "en", "seed": 1}
    files = EvalFiles(root / "model", test, data["labels"], root / f"{lang}.json", root / f"{lang}.predictions.jsonl")
    result = task.evaluate(files, meta, hparams, threads=1)
    workflow = [json.loads(line)["pred"] for line in (root / f"{lang}.predictions.jsonl").read_text().splitlines()]
    rows = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines()]
    assert max(len(segment(r["text"])) for r in rows) > 1000  # the long input is longer than the positions

    classify = pipeline("text-classification", model=str(root / "model"), device="cpu")
    assert classify.tokenizer.model_max_length == hparams["max_length"]
    out = classify([r["text"] for r in rows], truncation=True, batch_size=8)
    assert [o["label"] for o in out] == workflow
    assert len(set(workflow)) >= 2  # not a constant classifier: the comparison can fail
    accuracy = sum(o["label"] == r["label"] for o, r in zip(out, rows)) / len(rows)
    assert accuracy == pytest.approx(result["metrics"]["accuracy"])
    # and token for token: the pipeline's tokenizer on raw text gives the workflow's features
    features = task.encode(
        classify.tokenizer, [{"text": r["text"], "label_id": 0} for r in rows], hparams["max_length"]
    )
    raw = classify.tokenizer([r["text"] for r in rows], truncation=True)["input_ids"]
    assert raw == [f["input_ids"] for f in features]


def test_every_model_folder_has_a_card_and_a_max_length(finetuned):
    root, data, _, _ = finetuned
    base, model = read_card(root / "base"), read_card(root / "model")
    assert base["stage"] == "base" and base["pipeline_tag"] == "fill-mask"
    assert (
        model["stage"] == "finetuned"
        and model["objective"] == "base"
        and model["pipeline_tag"] == "text-classification"
    )
    text = (root / "model" / "README.md").read_text()
    for heading in ("## Base", "## Objective", "## Data", "## Labels", "## Metrics", "## Usage"):
        assert heading in text, heading
    assert all(f"`{label}`" in text for label in json.loads(data["labels"].read_text()))
    assert AutoTokenizer.from_pretrained(str(root / "base")).model_max_length == 64  # TINY_ARCH's positions
