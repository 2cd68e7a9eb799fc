"""The source registry and the url/local bitext sources (formats, checksums, bad input)."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from alignxfer.sources import SOURCES, Source, get_source
from alignxfer.sources.url import download

BITEXT = Path(__file__).parent / "fixtures" / "bitext"


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def fetch(source: Source, lang: str, tmp_path, cache="cache"):
    out = tmp_path / f"en-{lang}.jsonl"
    manifest = source.fetch_pair(lang, tmp_path / cache, out, tmp_path / f"en-{lang}.manifest.json")
    return read_jsonl(out), manifest


# ----------------------------------------------------------------------------- registry


def test_registry():
    assert set(SOURCES) == {"ddtp", "url", "local"}
    assert get_source("ddtp", {}).has_labels is True
    assert get_source("url", None).has_labels is False and get_source("local", {}).has_labels is False
    assert get_source("local", {"pairs": {"de": {"format": "tsv", "path": "x"}}}).languages() == ["de"]
    with pytest.raises(ValueError, match="known sources: ddtp, local, url"):
        get_source("opus", {})


def test_no_english_documents(tmp_path):
    with pytest.raises(ValueError, match="no labelled English documents"):
        get_source("url", {}).fetch_english(tmp_path, tmp_path / "en.jsonl", tmp_path / "m.json")


# ----------------------------------------------------------------------------- local


def test_local_tsv(tmp_path):
    src = get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(BITEXT / "en-de.tsv")}}})
    docs, m = fetch(src, "de", tmp_path)
    assert docs == [
        {"doc_id": "local:de:1", "en": ["Hello world."], "xx": ["Hallo Welt."], "label": None},
        {"doc_id": "local:de:2", "en": ["The cat sleeps."], "xx": ["Die Katze schläft."], "label": None},
        {"doc_id": "local:de:5", "en": ["Thank you very much."], "xx": ["Vielen Dank."], "label": None},
    ]
    assert m["drops"] == {"empty_line": 2}  # a blank line and a line with an empty side
    assert m["counts"]["lines"] == 5 and m["counts"]["documents"] == 3
    assert m["files"][0]["sha256"] == sha(BITEXT / "en-de.tsv") and m["files"][0]["bytes"] > 0


def test_local_moses(tmp_path):
    src = get_source(
        "local",
        {
            "pairs": {
                "de": {
                    "format": "moses",
                    "en": {"path": str(BITEXT / "train.en")},
                    "xx": {"path": str(BITEXT / "train.de")},
                }
            }
        },
    )
    docs, m = fetch(src, "de", tmp_path)
    assert [d["doc_id"] for d in docs] == ["local:de:1", "local:de:2", "local:de:4"]
    assert docs[2]["en"] == ["Writes output."] and docs[2]["xx"] == ["Schreibt Ausgaben."]
    assert m["drops"] == {"empty_line": 1} and len(m["files"]) == 2


def test_moses_line_count_mismatch(tmp_path):
    src = get_source(
        "local",
        {
            "pairs": {
                "de": {
                    "format": "moses",
                    "en": {"path": str(BITEXT / "train.en")},
                    "xx": {"path": str(BITEXT / "short.de")},
                }
            }
        },
    )
    with pytest.raises(ValueError, match=r"train\.en has 4 lines, .*short\.de has 3 lines"):
        fetch(src, "de", tmp_path)
    assert not (tmp_path / "en-de.jsonl").exists()


def test_invalid_utf8_error_names_file_and_line(tmp_path):
    src = get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(BITEXT / "bad-utf8.tsv")}}})
    with pytest.raises(ValueError, match=r"bad-utf8\.tsv:2: invalid UTF-8"):
        fetch(src, "de", tmp_path)
    assert not (tmp_path / "en-de.jsonl").exists()


def test_invalid_utf8_replace_is_counted(tmp_path):
    src = get_source(
        "local", {"invalid_utf8": "replace", "pairs": {"de": {"format": "tsv", "path": str(BITEXT / "bad-utf8.tsv")}}}
    )
    docs, m = fetch(src, "de", tmp_path)
    assert docs[1]["xx"] == ["Schlecht \ufffd Byte."]
    assert m["counts"]["invalid_utf8_replaced"] == 1 and m["counts"]["documents"] == 3


def test_tsv_needs_two_fields(tmp_path):
    src = get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(BITEXT / "three-columns.tsv")}}})
    with pytest.raises(ValueError, match=r"three-columns\.tsv:1: expected 2 tab-separated fields"):
        fetch(src, "de", tmp_path)


def test_local_sha256_checked_when_given(tmp_path):
    spec = {"format": "tsv", "path": str(BITEXT / "en-de.tsv"), "sha256": "0" * 64}
    with pytest.raises(ValueError, match="sha256 mismatch"):
        fetch(get_source("local", {"pairs": {"de": spec}}), "de", tmp_path)
    spec["sha256"] = sha(BITEXT / "en-de.tsv").upper()
    fetch(get_source("local", {"pairs": {"de": spec}}), "de", tmp_path)


def test_option_errors(tmp_path):
    with pytest.raises(ValueError, match="languages it has: de"):
        fetch(get_source("local", {"pairs": {"de": {"format": "tsv", "path": "x"}}}), "fr", tmp_path)
    with pytest.raises(ValueError, match="format must be one of"):
        fetch(get_source("local", {"pairs": {"de": {"format": "csv", "path": "x"}}}), "de", tmp_path)
    with pytest.raises(ValueError, match="needs 'en' and 'xx'"):
        fetch(get_source("local", {"pairs": {"de": {"format": "moses", "path": "x"}}}), "de", tmp_path)
    with pytest.raises(ValueError, match="takes 'path', not 'url'"):
        fetch(get_source("local", {"pairs": {"de": {"format": "tsv", "url": "file:///x"}}}), "de", tmp_path)
    with pytest.raises(ValueError, match="unknown option"):
        get_source("local", {"pair": {}})
    with pytest.raises(FileNotFoundError):
        fetch(
            get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(tmp_path / "nope.tsv")}}}),
            "de",
            tmp_path,
        )


# ----------------------------------------------------------------------------- archives


@pytest.fixture
def archives(tmp_path):
    folder = tmp_path / "archives"
    folder.mkdir()
    with zipfile.ZipFile(folder / "bitext.zip", "w") as z:
        z.write(BITEXT / "en-de.tsv", "data/en-de.tsv")
        z.write(BITEXT / "train.en", "moses/train.en")
        z.write(BITEXT / "train.de", "moses/train.de")
    with tarfile.open(folder / "bitext.tar.gz", "w:gz") as t:
        t.add(BITEXT / "en-de.tsv", "data/en-de.tsv")
        t.add(BITEXT / "train.en", "moses/train.en")
        t.add(BITEXT / "train.de", "moses/train.de")
    (folder / "en-de.tsv.gz").write_bytes(gzip.compress((BITEXT / "en-de.tsv").read_bytes()))
    return folder


@pytest.mark.parametrize("name", ["bitext.zip", "bitext.tar.gz"])
def test_archive_members(tmp_path, archives, name):
    plain, _ = fetch(
        get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(BITEXT / "en-de.tsv")}}}), "de", tmp_path
    )
    src = get_source(
        "local",
        {
            "pairs": {
                "de": {"format": "tsv", "path": str(archives / name), "member": "data/en-de.tsv"},
                "fr": {
                    "format": "moses",
                    "path": str(archives / name),
                    "en": {"member": "moses/train.en"},
                    "xx": {"member": "moses/train.de"},
                },
            }
        },
    )
    docs, m = fetch(src, "de", tmp_path)
    assert [d["en"] for d in docs] == [d["en"] for d in plain]
    assert m["files"][0]["member"] == "data/en-de.tsv"
    docs, m = fetch(src, "fr", tmp_path)
    assert [d["doc_id"] for d in docs] == ["local:fr:1", "local:fr:2", "local:fr:4"]
    bad = get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(archives / name), "member": "nope.tsv"}}})
    with pytest.raises(ValueError, match="no member 'nope.tsv'.*data/en-de.tsv"):
        fetch(bad, "de", tmp_path)
    missing = get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(archives / name)}}})
    with pytest.raises(ValueError, match="needs 'member'"):
        fetch(missing, "de", tmp_path)


def test_gzip_file(tmp_path, archives):
    docs, _ = fetch(
        get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(archives / "en-de.tsv.gz")}}}),
        "de",
        tmp_path,
    )
    assert len(docs) == 3


# ----------------------------------------------------------------------------- url


def test_url_file_scheme_and_cache(tmp_path, archives, monkeypatch):
    url = (archives / "bitext.zip").as_uri()
    digest = sha(archives / "bitext.zip")
    src = get_source(
        "url", {"pairs": {"de": {"format": "tsv", "url": url, "sha256": digest, "member": "data/en-de.tsv"}}}
    )
    docs, m = fetch(src, "de", tmp_path)
    assert docs[0]["doc_id"] == "url:de:1" and len(docs) == 3
    f = m["files"][0]
    assert f["url"] == url and f["sha256"] == digest and f["cache_reused"] is False
    assert Path(f["path"]) == tmp_path / "cache" / digest / "bitext.zip"
    # cached: not downloaded again (urlopen would fail now)
    import alignxfer.sources.url as url_mod

    monkeypatch.setattr(url_mod.urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded again"))
    docs2, m2 = fetch(src, "de", tmp_path)
    assert docs2 == docs and m2["files"][0]["cache_reused"] is True


def test_url_moses_two_files(tmp_path):
    src = get_source(
        "url",
        {
            "pairs": {
                "de": {
                    "format": "moses",
                    "en": {"url": (BITEXT / "train.en").as_uri(), "sha256": sha(BITEXT / "train.en")},
                    "xx": {"url": (BITEXT / "train.de").as_uri(), "sha256": sha(BITEXT / "train.de")},
                }
            }
        },
    )
    docs, m = fetch(src, "de", tmp_path)
    assert [d["doc_id"] for d in docs] == ["url:de:1", "url:de:2", "url:de:4"]
    assert [f["url"] for f in m["files"]] == [(BITEXT / "train.en").as_uri(), (BITEXT / "train.de").as_uri()]


def test_url_bad_checksum_overwrites_nothing(tmp_path):
    url = (BITEXT / "en-de.tsv").as_uri()
    good = sha(BITEXT / "en-de.tsv")
    wrong = "f" * 64
    out = tmp_path / "en-de.jsonl"
    out.write_text("previous\n")
    # a file already cached under the wrong checksum's name is not replaced either
    (tmp_path / "cache" / wrong).mkdir(parents=True)
    (tmp_path / "cache" / wrong / "en-de.tsv").write_text("old")
    src = get_source("url", {"pairs": {"de": {"format": "tsv", "url": url, "sha256": wrong}}})
    with pytest.raises(ValueError) as err:
        src.fetch_pair("de", tmp_path / "cache", out, tmp_path / "m.json")
    message = str(err.value)
    assert url in message and f"expected {wrong}" in message and f"actual {good}" in message
    assert out.read_text() == "previous\n" and not (tmp_path / "m.json").exists()
    assert (tmp_path / "cache" / wrong / "en-de.tsv").read_text() == "old"
    assert [p.name for p in (tmp_path / "cache" / wrong).iterdir()] == ["en-de.tsv"]  # no partial file left


def test_url_requires_sha256_and_scheme():
    with pytest.raises(ValueError, match="needs a sha256"):
        get_source("url", {"pairs": {"de": {"format": "tsv", "url": "https://example.org/x.tsv"}}})._spec("de")
    with pytest.raises(ValueError, match="not an http"):
        get_source("url", {"pairs": {"de": {"format": "tsv", "url": "ftp://example.org/x", "sha256": "0" * 64}}})._spec(
            "de"
        )


def test_download_helper_reuses(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"abc\n")
    digest = sha(path)
    dest, reused = download(path.as_uri(), digest, tmp_path / "c")
    assert dest.read_bytes() == b"abc\n" and reused is False
    assert download(path.as_uri(), digest, tmp_path / "c") == (dest, True)
