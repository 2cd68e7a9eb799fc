"""FastAlign (sil-thot) in both directions, symmetrization, Pharaoh I/O and bad input."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from alignxfer.alignment import (  # noqa: E402
    AlignmentError,
    align,
    align_sentences,
    check_options,
    read_corpus,
    read_links,
    symmetrize,
    symmetrize_files,
    validate_alignment,
)
from alignxfer.tokenization import write_aligner_input  # noqa: E402

# A tiny real bitext (written for this test): word order differs in the last pair.
EN = ["the house", "the small house", "the house is small", "the book", "a book", "the small book", "the book is small"]
DE = [
    "das haus",
    "das kleine haus",
    "das haus ist klein",
    "das buch",
    "ein buch",
    "das kleine buch",
    "das buch ist klein",
]


def _corpus(tmp_path, en=EN, de=DE):
    (tmp_path / "x.en").write_text("".join(s + "\n" for s in en), encoding="utf-8")
    (tmp_path / "x.de").write_text("".join(s + "\n" for s in de), encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    write_aligner_input(tmp_path / "x.en", tmp_path / "x.de", corpus)
    return corpus


def test_both_directions_learn_the_obvious_links(tmp_path):
    corpus = _corpus(tmp_path)
    src, tgt = read_corpus(corpus)
    for reverse in (False, True):
        rows = align_sentences(src * 5, tgt * 5, reverse=reverse, options={"iterations": 5})
        assert rows[1] == [(0, 0), (1, 1), (2, 2)]  # the small house / das kleine haus
        assert rows[2] == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_reverse_allows_one_target_word_per_english_word_and_is_written_english_first(tmp_path):
    src, tgt = [["a", "b"]] * 3, [["x"]] * 3
    fwd = align_sentences(src, tgt, reverse=False)[0]
    rev = align_sentences(src, tgt, reverse=True)[0]
    assert len({j for _, j in fwd}) == len(fwd)  # forward: each target word once at most
    assert all(j == 0 for _, j in rev) and len({i for i, _ in rev}) == len(rev)
    assert all(0 <= i < 2 for i, _ in fwd + rev)


def test_pharaoh_files_are_byte_identical_across_runs(tmp_path):
    corpus = _corpus(tmp_path)
    align(corpus, tmp_path / "a.txt", options={"iterations": 4})
    align(corpus, tmp_path / "b.txt", options={"iterations": 4})
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
    lines = (tmp_path / "a.txt").read_text().splitlines()
    assert len(lines) == len(EN)
    assert lines[0] == "0-0 1-1"


def test_symmetrization_on_a_hand_worked_example():
    # forward {0-0, 3-3}, reverse {0-0, 2-3}: the intersection is {0-0}; growing adds nothing
    # (no union point is adjacent to 0-0); final-and adds 3-3 (both words unaligned) but not
    # 2-3 (target word 3 is aligned by then).
    fwd, rev = [(0, 0), (3, 3)], [(0, 0), (2, 3)]
    assert symmetrize(fwd, rev, 4, 4, "intersection") == [(0, 0)]
    assert symmetrize(fwd, rev, 4, 4, "union") == [(0, 0), (2, 3), (3, 3)]
    assert symmetrize(fwd, rev, 4, 4, "grow-diag-final-and") == [(0, 0), (3, 3)]
    # growing: 2-1 and 1-2 are union points next to the intersection point 1-1
    fwd, rev = [(0, 0), (1, 1), (2, 1)], [(0, 0), (1, 1), (1, 2)]
    assert symmetrize(fwd, rev, 3, 3, "grow-diag-final-and") == [(0, 0), (1, 1), (1, 2), (2, 1)]


def test_symmetrize_files_keeps_one_line_per_pair(tmp_path):
    corpus = _corpus(tmp_path, en=EN + ["only english"], de=DE + [""])
    align(corpus, tmp_path / "f.txt")
    align(corpus, tmp_path / "r.txt", reverse=True)
    stats = symmetrize_files(tmp_path / "f.txt", tmp_path / "r.txt", tmp_path / "s.txt", corpus_path=corpus)
    rows = read_links(tmp_path / "s.txt")
    assert len(rows) == len(EN) + 1 and rows[-1] == []  # an empty side gets an empty line
    assert stats["pairs"] == len(EN) + 1 and stats["links"] > len(EN)
    assert validate_alignment(tmp_path / "s.txt", corpus) == len(EN) + 1


def test_separator_inside_text_cannot_break_the_aligner_input(tmp_path):
    corpus = _corpus(tmp_path, en=["a ||| b", "x|||y"], de=["c ||| d", "z"])
    src, tgt = read_corpus(corpus)
    assert src == [["a", "|", "|", "|", "b"], ["x", "|", "|", "|", "y"]]
    assert tgt == [["c", "|", "|", "|", "d"], ["z"]]


def test_bitext_sides_of_different_length_fail_with_both_names(tmp_path):
    (tmp_path / "x.en").write_text("a\nb\n")
    (tmp_path / "x.de").write_text("a\n")
    with pytest.raises(ValueError, match=r"x\.en has 2 lines, .*x\.de has 1"):
        write_aligner_input(tmp_path / "x.en", tmp_path / "x.de", tmp_path / "c.txt")
    assert not (tmp_path / "c.txt").exists()


def test_invalid_utf8_in_the_bitext_names_file_and_line(tmp_path):
    (tmp_path / "x.en").write_bytes(b"ok\nbad \xff byte\n")
    (tmp_path / "x.de").write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"x\.en:2: invalid UTF-8"):
        write_aligner_input(tmp_path / "x.en", tmp_path / "x.de", tmp_path / "c.txt")


def test_malformed_corpus_and_alignment_lines_are_named(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a ||| b\nno separator here\n")
    with pytest.raises(AlignmentError, match=r"bad\.txt:2: expected 'english words \|\|\| target words'"):
        read_corpus(bad)
    corpus = _corpus(tmp_path)
    links = tmp_path / "links.txt"
    links.write_text("0-0\n" * (len(EN) - 1) + "0-9\n")
    with pytest.raises(AlignmentError, match=r"links\.txt:7: link 0-9 is out of range"):
        validate_alignment(links, corpus)
    links.write_text("0-0\n")
    with pytest.raises(AlignmentError, match=r"has 1 lines but .*corpus\.txt has 7"):
        validate_alignment(links, corpus)
    links.write_text("0:0\n")
    with pytest.raises(AlignmentError, match=r"not a Pharaoh link"):
        read_links(links)


def test_settings_the_port_cannot_honour_are_refused():
    check_options({"diagonal_tension": 4.0, "prior_alpha": 0.01})
    with pytest.raises(AlignmentError, match=r"alignment\.diagonal_tension"):
        check_options({"diagonal_tension": 2.0})


def test_ibm1_without_diagonal_favouring_still_aligns(tmp_path):
    corpus = _corpus(tmp_path)
    src, tgt = read_corpus(corpus)
    rows = align_sentences(src * 5, tgt * 5, options={"favor_diagonal": False})
    assert (1, 1) in rows[1] and (2, 2) in rows[1]
