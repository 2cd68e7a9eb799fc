"""DDTP source: record parsing, topics, the private apt command line, and fetch/cache offline.

No network: ``run_apt_update`` is replaced by a fake that places the fixture indices where
apt would (gzip-compressed, apt's file names) together with an InRelease listing their sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from alignxfer.sources import ddtp
from alignxfer.sources.ddtp import (
    DdtpSource,
    apt_update_command,
    description_units,
    parse_packages,
    parse_release,
    parse_translation,
    release_languages,
    section_topic,
    write_apt_config,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ddtp"


def lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)


# ----------------------------------------------------------------------------- parsing


def test_description_units_paragraphs_and_verbatim():
    body = [" First line", " wrapped here.", " .", " Features:", "   * one", "   * two", " .", " .", " End."]
    assert description_units("  a   synopsis ", body) == [
        "a synopsis",
        "First line wrapped here.",
        "Features: * one * two",
        "End.",
    ]


def test_description_units_joins_cjk_without_space():
    units = description_units("ツール", [" Foo", " はウィジェットを素早く", " 確実に処理します。"])
    assert units == ["ツール", "Foo はウィジェットを素早く確実に処理します。"]


def test_parse_translation_records():
    recs = list(parse_translation(lines("Translation-ja")))
    assert [r.md5 for r in recs] == ["1" * 32, "2" * 32]
    assert recs[0].lang == "ja" and recs[0].package == "foo"
    assert recs[0].units == [
        "ウィジェットを処理するツール",
        "Foo はウィジェットを素早く確実に処理します。",
        "ガジェットにも対応しています。",
    ]
    assert recs[1].units == ["bar ライブラリ", "bar ライブラリは bar を実装します。"]
    zh = list(parse_translation(lines("Translation-zh_CN")))
    assert zh[0].lang == "zh_CN" and zh[0].units == ["bar 库", "bar 库实现了 bar。"]


def test_parse_translation_multi_paragraph_english():
    recs = {r.md5: r for r in parse_translation(lines("Translation-en"))}
    assert recs["4" * 32].units == [
        "multi-paragraph editor",
        "Qux is an editor.",
        "Features: * verbatim line one * verbatim line two",
        "Last paragraph.",
    ]
    # repeated separators make no empty paragraph
    assert recs["3" * 32].units == [
        "documentation for baz",
        "This package contains the documentation.",
        "Second paragraph.",
    ]


def test_section_topics():
    assert section_topic("libs") == "libs"
    assert section_topic("oldlibs") == section_topic("libdevel") == "libs"
    assert section_topic("contrib/utils") == "system"
    assert section_topic("non-free/editors") == "devel"
    assert section_topic("python") == section_topic("rust") == section_topic("vcs") == "devel"
    assert section_topic("sound") == section_topic("video") == "multimedia"
    assert section_topic("doc") is None and section_topic("misc") is None and section_topic(None) is None
    assert set(ddtp.SECTION_TOPICS.values()) == set(ddtp.TOPICS) and len(ddtp.TOPICS) == 11


def test_parse_packages_join():
    info = parse_packages(lines("Packages"))
    assert set(info) == {"1" * 32, "2" * 32, "3" * 32, "4" * 32}  # 'nodesc' has no md5
    foo = info["1" * 32]
    assert foo.packages == {"foo", "foo-extra"} and foo.section == "utils"  # contrib/ stripped
    assert info["4" * 32].section == "editors"
    assert foo.sources == {"foo", "foo-extra"} and foo.source == "foo"  # no Source: field: package names
    sibling = parse_packages(
        [
            "Package: libfoo1\n",
            "Source: foo (1.2-3)\n",
            "Description-md5: " + "9" * 32 + "\n",
            "\n",
            "Package: foo-doc\n",
            "Source: foo\n",
            "Description-md5: " + "8" * 32 + "\n",
        ]
    )
    assert sibling["9" * 32].source == sibling["8" * 32].source == "foo"  # version dropped


def test_parse_release_and_languages():
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
        "Origin: Debian\nSuite: oldstable\nCodename: bookworm\nDate: Sat, 01 Jan 2000 00:00:00 UTC\n"
        "SHA256:\n"
        " " + "a" * 64 + " 10 main/i18n/Translation-de\n"
        " " + "b" * 64 + " 5 main/i18n/Translation-de.bz2\n"
        " " + "c" * 64 + " 7 main/i18n/Translation-zh_CN.bz2\n"
        " " + "d" * 64 + " 7 contrib/i18n/Translation-fr\n"
        "-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n"
    )
    rel = parse_release(text)
    assert rel["fields"]["Codename"] == "bookworm"
    assert rel["sha256"]["main/i18n/Translation-de"] == ("a" * 64, 10)
    assert release_languages(rel, "main") == ["de", "zh_CN"]


# ----------------------------------------------------------------------------- apt command line


def test_apt_command_line_is_private(tmp_path):
    paths = write_apt_config(
        tmp_path / "de",
        mirror="http://deb.debian.org/debian",
        suite="bookworm",
        component="main",
        architecture="arm64",
        targets=["Translations"],
        keyring="/usr/share/keyrings/debian-archive-keyring.gpg",
    )
    argv, env = apt_update_command(paths, languages=["de"], architecture="arm64")
    assert argv[:3] == ["apt-get", "-q", "update"]
    opts = dict(a.split("=", 1) for a in argv[3:] if a != "-o")
    root = (tmp_path / "de").absolute()
    assert opts["Dir::State::Lists"] == str(root / "lists")
    assert opts["Dir::Cache"] == str(root / "cache")
    assert opts["Dir::Etc::SourceList"] == str(root / "etc" / "sources.list")
    assert opts["Dir::Etc::SourceParts"] == str(root / "etc" / "sources.list.d")
    assert opts["Dir::State::status"] == str(root / "etc" / "status")
    assert opts["Acquire::Languages"] == "de"
    assert opts["APT::Architectures"] == opts["APT::Architecture"] == "arm64"
    assert opts["Debug::NoLocking"] == "true"
    assert opts["Dir::Cache::pkgcache"] == "" and opts["Dir::Cache::srcpkgcache"] == ""
    assert not any(v.startswith(("/var/lib/apt", "/etc/apt", "/var/cache/apt")) for v in opts.values())
    assert env == {"APT_CONFIG": str(root / "etc" / "apt.conf")}
    conf = Path(env["APT_CONFIG"]).read_text()
    assert 'Dir::Etc::Main "/dev/null";' in conf and f'Dir::Etc::Parts "{root / "etc" / "apt.conf.d"}";' in conf
    assert list((root / "etc" / "apt.conf.d").iterdir()) == []  # no host configuration, no hooks
    assert (root / "lists" / "partial").is_dir()
    source = (root / "etc" / "sources.list").read_text()
    assert source == (
        "deb [arch=arm64 target=Translations signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://deb.debian.org/debian bookworm main\n"
    )


def test_apt_failure_as_non_root_explains(monkeypatch):
    class Done:
        returncode = 100
        stdout = ""
        stderr = "E: Could not open lock file - open (13: Permission denied)"

    monkeypatch.setattr(ddtp.shutil, "which", lambda name: "/usr/bin/apt-get")
    monkeypatch.setattr(ddtp.subprocess, "run", lambda *a, **k: Done())
    monkeypatch.setattr(ddtp.os, "geteuid", lambda: 1000)
    with pytest.raises(RuntimeError, match="(?s)Permission denied.*non-root.*as root"):
        ddtp.run_apt_update(["apt-get", "update"], {})


def test_missing_apt_get(monkeypatch):
    monkeypatch.setattr(ddtp.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs apt-get"):
        ddtp.run_apt_update(["apt-get", "update"], {})


# ----------------------------------------------------------------------------- fetch, offline


class FakeApt:
    """Stands in for ``apt-get update``: writes fixture indices as apt names and stores them."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, env):
        opts = dict(a.split("=", 1) for a in argv[3:] if a != "-o")
        self.calls.append(opts["Acquire::Languages"])
        lists = Path(opts["Dir::State::Lists"])
        source = Path(opts["Dir::Etc::SourceList"]).read_text()
        prefix = "deb.debian.org_debian_dists_bookworm_main_"
        entries = []
        for path in sorted(FIXTURES.iterdir()):
            data = path.read_bytes()
            rel = "main/binary-amd64/Packages" if path.name == "Packages" else f"main/i18n/{path.name}"
            entries.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {rel}")
            if path.name == "Packages":
                wanted = "Packages" in source
                name = prefix + "binary-amd64_Packages.gz"
            else:
                wanted = path.name.split("-", 1)[1] in opts["Acquire::Languages"].split(",")
                name = prefix + "i18n_" + path.name + ".gz"
            if wanted:
                (lists / name).write_bytes(gzip.compress(data, mtime=0))
        (lists / "deb.debian.org_debian_dists_bookworm_InRelease").write_text(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: oldstable\nCodename: bookworm\n"
            "Date: Sat, 01 Jan 2000 00:00:00 UTC\nSHA256:\n" + "\n".join(entries) + "\n"
            "-----BEGIN PGP SIGNATURE-----\n\nfake\n-----END PGP SIGNATURE-----\n"
        )
        return ""


@pytest.fixture
def fake_apt(monkeypatch):
    fake = FakeApt()
    monkeypatch.setattr(ddtp, "run_apt_update", fake)
    return fake


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_fetch_english_and_pairs(tmp_path, fake_apt):
    cache = tmp_path / "resources" / "ddtp"
    src = DdtpSource({})
    m = src.fetch_english(cache, tmp_path / "en.jsonl", tmp_path / "en.manifest.json")
    docs = {d["doc_id"]: d for d in read_jsonl(tmp_path / "en.jsonl")}
    assert set(docs) == {"1" * 32, "2" * 32, "3" * 32, "4" * 32, "6" * 32}
    assert docs["1" * 32] == {
        "doc_id": "1" * 32,
        "units": [
            "tool for frobnicating widgets",
            "Foo frobnicates widgets quickly and reliably.",
            "It also supports gadgets.",
        ],
        "label": "system",
        "section": "utils",
        "packages": ["foo", "foo-extra"],
        "source": "foo",  # no Source: field: the package name (the first by name)
    }
    assert docs["3" * 32]["label"] is None and docs["3" * 32]["section"] == "doc"
    assert docs["6" * 32]["label"] is None and docs["6" * 32]["packages"] == ["other-arch-only"]
    assert m["drops"] == {"duplicate_md5": 1}
    assert m["counts"]["documents"] == 5 and m["release"]["codename"] == "bookworm"
    assert all(f["sha256"] and f["bytes"] > 0 for f in m["files"])
    assert all(f["verified_against_release"] for f in m["files"] if "index" in f)
    assert json.loads((tmp_path / "en.manifest.json").read_text()) == m

    p = src.fetch_pair(
        "de", cache, tmp_path / "en-de.jsonl", tmp_path / "en-de.manifest.json", english_jsonl=tmp_path / "en.jsonl"
    )
    pairs = read_jsonl(tmp_path / "en-de.jsonl")
    assert [d["doc_id"] for d in pairs] == ["1" * 32, "2" * 32]
    assert all(len(d["en"]) == len(d["xx"]) for d in pairs)
    assert pairs[0]["xx"][1] == "Foo frobniziert Widgets schnell und zuverlässig." and pairs[0]["label"] == "system"
    assert p["drops"] == {"no_english": 1, "paragraph_count_mismatch": 1}
    assert p["counts"]["documents"] == 2 and p["counts"]["units"] == 5
    assert [f["index"] for f in p["files"] if "index" in f] == ["de"]  # only Translation-de fetched
    assert fake_apt.calls == ["en", "de"]

    # zh is Debian's zh_CN; without english_jsonl the English side comes from the shared cache
    z = src.fetch_pair("zh", cache, tmp_path / "en-zh.jsonl", tmp_path / "en-zh.manifest.json")
    assert z["debian_lang"] == "zh_CN" and z["english_from"] == "cache"
    assert read_jsonl(tmp_path / "en-zh.jsonl")[0]["xx"] == ["bar 库", "bar 库实现了 bar。"]
    assert fake_apt.calls == ["en", "de", "zh_CN"]  # English indices reused, not fetched again


def test_cache_is_reused_and_reverified(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    src = DdtpSource({})
    src.fetch_pair("ja", cache, tmp_path / "a.jsonl", tmp_path / "a.json")
    m2 = src.fetch_pair("ja", cache, tmp_path / "b.jsonl", tmp_path / "b.json")
    assert fake_apt.calls == ["ja", "en"] and m2["cache"]["reused"] is True
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    # a corrupted cached file is detected by its checksum and fetched again
    stored = next((cache / "ja" / "lists").glob("*Translation-ja.gz"))
    stored.write_bytes(b"corrupt")
    m3 = src.fetch_pair("ja", cache, tmp_path / "c.jsonl", tmp_path / "c.json")
    assert fake_apt.calls == ["ja", "en", "ja"] and m3["cache"]["reused"] is False
    assert (tmp_path / "c.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()
    # the same settings (mirror given with a trailing slash) reuse the cache ...
    n = len(fake_apt.calls)
    DdtpSource({"mirror": "http://deb.debian.org/debian/"}).fetch_pair(
        "ja", cache, tmp_path / "d.jsonl", tmp_path / "d.json"
    )
    assert len(fake_apt.calls) == n
    # ... other settings never do
    DdtpSource({"keyring": "/other/keyring.gpg"}).fetch_pair("ja", cache, tmp_path / "e.jsonl", tmp_path / "e.json")
    assert fake_apt.calls[n:] == ["ja", "en"]


def test_unknown_language_lists_offered(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    src = DdtpSource({})
    with pytest.raises(ValueError, match=r"no Translation-sw.*languages it has: de, ja, zh"):
        src.fetch_pair("sw", cache, tmp_path / "x.jsonl", tmp_path / "x.json")
    assert not (tmp_path / "x.jsonl").exists()
    # once the English release is cached, the check needs no download at all
    src.fetch_english(cache, tmp_path / "en.jsonl", tmp_path / "en.json")
    calls = list(fake_apt.calls)
    with pytest.raises(ValueError, match="languages it has: de, ja, zh"):
        src.fetch_pair("ar", cache, tmp_path / "x.jsonl", tmp_path / "x.json")
    assert fake_apt.calls == calls


def test_unknown_option_rejected():
    with pytest.raises(ValueError, match="unknown option"):
        DdtpSource({"suit": "bookworm"})


def test_keyring_default(monkeypatch):
    monkeypatch.setattr(ddtp, "DEFAULT_KEYRING", "/nonexistent/keyring.gpg")
    assert DdtpSource({}).settings["keyring"] is None
    assert DdtpSource({"keyring": "/k.gpg"}).settings["keyring"] == "/k.gpg"


# ----------------------------------------------------------------------------- real apt-get, file:// mirror


def make_file_mirror(root: Path) -> Path:
    """A local unsigned mirror in Debian's layout, from the fixture indices."""
    dist = root / "dists" / "bookworm"
    lines = [
        "Origin: Debian",
        "Suite: oldstable",
        "Codename: bookworm",
        "Date: Sat, 01 Jan 2000 00:00:00 UTC",
        "Architectures: amd64",
        "Components: main",
        "SHA256:",
    ]
    for path in sorted(FIXTURES.iterdir()):
        rel = "main/binary-amd64/Packages" if path.name == "Packages" else f"main/i18n/{path.name}"
        (dist / rel).parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        (dist / rel).write_bytes(data)
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {rel}")
    (dist / "Release").write_text("\n".join(lines) + "\n")
    return root


def test_unsigned_local_mirror_is_trusted_only_when_local(tmp_path):
    mirror = make_file_mirror(tmp_path / "mirror")
    assert DdtpSource({"mirror": mirror.as_uri()}).unsigned_local_mirror() is True
    assert DdtpSource({}).unsigned_local_mirror() is False
    (mirror / "dists" / "bookworm" / "Release.gpg").write_text("sig")
    assert DdtpSource({"mirror": mirror.as_uri()}).unsigned_local_mirror() is False
    paths = write_apt_config(
        tmp_path / "x",
        mirror=mirror.as_uri(),
        suite="bookworm",
        component="main",
        architecture="amd64",
        targets=["Translations"],
        keyring="/k.gpg",
        trusted=True,
    )
    assert "trusted=yes" in paths["sources"].read_text() and "signed-by" not in paths["sources"].read_text()


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian/Ubuntu)")
def test_real_apt_get_with_file_mirror(tmp_path):
    mirror = make_file_mirror(tmp_path / "mirror")
    src = DdtpSource({"mirror": mirror.as_uri()})
    cache = tmp_path / "cache"
    m = src.fetch_english(cache, tmp_path / "en.jsonl", tmp_path / "en.json")
    assert m["counts"]["documents"] == 5 and m["release"]["codename"] == "bookworm"
    assert sorted(f["index"] for f in m["files"] if "index" in f) == ["Packages", "en"]
    p = src.fetch_pair(
        "ja", cache, tmp_path / "en-ja.jsonl", tmp_path / "en-ja.json", english_jsonl=tmp_path / "en.jsonl"
    )
    assert p["counts"]["documents"] == 2 and [f.get("index") for f in p["files"]] == [None, "ja"]
    assert read_jsonl(tmp_path / "en-ja.jsonl")[0]["xx"][1] == "Foo はウィジェットを素早く確実に処理します。"
    assert not list((cache / "ja" / "lists").glob("*Packages*"))  # a pair fetches only its translation
    with pytest.raises(ValueError, match="languages it has: de, ja, zh"):
        src.fetch_pair("ru", cache, tmp_path / "en-ru.jsonl", tmp_path / "en-ru.json")


def test_whitespace_only_line_inside_a_description_is_a_paragraph_break():
    # bookworm's Translation-fr has descriptions whose paragraph separator is "  " instead of " ."
    text = [
        "Package: p389",
        "Description-md5: 630be364e8b8b2a8f60ee17e872a2550",
        "Description-fr: suite - fichiers",
        " Premier paragraphe.",
        "  ",
        " Second paragraphe.",
        "  ",
        "Package: autre",
        "Description-md5: 00000000000000000000000000000001",
        "Description-fr: autre synopsis",
        "",
    ]
    recs = list(parse_translation(text))
    assert len(recs) == 2
    assert recs[0].units == ["suite - fichiers", "Premier paragraphe.", "Second paragraphe."]
    assert recs[1].units == ["autre synopsis"]


def test_continuation_outside_a_field_names_the_file_and_line():
    with pytest.raises(ValueError, match=r"Translation-xx:2: continuation line outside a field"):
        list(parse_translation(["", " stray"], "Translation-xx"))


def test_index_file_names_escaped_by_apt_are_found(tmp_path):
    # apt names the zh_CN list "..._Translation-zh%5fCN.gz"
    lists = tmp_path / "lists"
    lists.mkdir()
    name = "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-zh%5fCN.gz"
    (lists / name).write_bytes(b"")
    source = ddtp.DdtpSource({"mirror": "http://deb.debian.org/debian"})
    assert source._find_index(lists, "zh_CN").name == name
