"""The WordPiece tokenizer and the tokenized bitext (subword -> word map) the objectives read."""

from __future__ import annotations

import datasets
from transformers import AutoTokenizer

from alignxfer.alignment import read_corpus
from alignxfer.data import load_pairs
from alignxfer.tokenization import encode_words, tokenize_pair, train_tokenizer, write_aligner_input

EN = ["The cat sits on the mat.", "Dogs run fast!", "A library for parsing files.", "It is small."] * 5
XX = ["Die Katze sitzt auf der Matte.", "Hunde laufen schnell!", "日本語のライブラリ。", "Es ist klein."] * 5


def _corpus(tmp_path):
    (tmp_path / "b.en").write_text("".join(s + "\n" for s in EN), encoding="utf-8")
    (tmp_path / "b.xx").write_text("".join(s + "\n" for s in XX), encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    write_aligner_input(tmp_path / "b.en", tmp_path / "b.xx", corpus)
    return corpus


def test_trained_tokenizer_opens_with_autotokenizer_and_is_deterministic(tmp_path):
    corpus = _corpus(tmp_path)
    stats = train_tokenizer([corpus], tmp_path / "tok1", vocab_size=200)
    train_tokenizer([corpus], tmp_path / "tok2", vocab_size=200)
    assert stats["training_sentences"] == 8  # distinct sentences only
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok1"))
    assert (tmp_path / "tok1" / "tokenizer.json").read_text() == (tmp_path / "tok2" / "tokenizer.json").read_text()
    enc = tok("Die Katze")
    assert enc["input_ids"][0] == tok.cls_token_id and enc["input_ids"][-1] == tok.sep_token_id
    assert {tok.pad_token, tok.mask_token, tok.unk_token} == {"[PAD]", "[MASK]", "[UNK]"}


def test_tokenized_pairs_map_every_subword_to_its_word(tmp_path):
    corpus = _corpus(tmp_path)
    train_tokenizer([corpus], tmp_path / "tok", vocab_size=200)
    stats = tokenize_pair(corpus, tmp_path / "tok", tmp_path / "ds")
    ds = datasets.load_from_disk(str(tmp_path / "ds"))
    src, tgt = read_corpus(corpus)
    assert stats["rows"] == len(ds) == len(src)
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    for row, words in zip(ds, src):
        assert len(row["src_ids"]) == len(row["src_word_ids"])
        assert sorted(set(row["src_word_ids"])) == list(range(len(words)))  # dense: every word has a subword
        for w, word in enumerate(words):  # the subwords of word w spell word w
            pieces = [tok.convert_ids_to_tokens(i) for i, wid in zip(row["src_ids"], row["src_word_ids"]) if wid == w]
            assert "".join(p.removeprefix("##") for p in pieces) == word
    ja = ds[2]
    assert len(set(ja["tgt_word_ids"])) == len(tgt[2])  # one word per CJK character
    assert tok.cls_token_id not in ds[0]["src_ids"]  # no special tokens in the stored ids


def test_words_the_normaliser_removes_become_unk(tmp_path):
    corpus = _corpus(tmp_path)
    train_tokenizer([corpus], tmp_path / "tok", vocab_size=200)
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    ids, wids = encode_words(tok, [["Die", "\ufffd", "Katze"], []])
    assert sorted(set(wids[0])) == [0, 1, 2]
    assert ids[0][wids[0].index(1)] == tok.unk_token_id
    assert ids[1] == [] and wids[1] == []


def test_alignment_indices_of_the_aligner_input_are_valid_for_the_dataset(tmp_path):
    corpus = _corpus(tmp_path)
    train_tokenizer([corpus], tmp_path / "tok", vocab_size=200)
    tokenize_pair(corpus, tmp_path / "tok", tmp_path / "ds")
    src, tgt = read_corpus(corpus)
    # link the last word of each side: the largest legal indices
    (tmp_path / "a.txt").write_text("".join(f"{len(s) - 1}-{len(t) - 1}\n" for s, t in zip(src, tgt)))
    pairs = load_pairs(tmp_path / "ds", tmp_path / "a.txt")
    assert len(pairs) == len(src) and all(p.links for p in pairs)
