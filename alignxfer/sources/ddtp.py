"""Debian package-description translations (DDTP): human-translated, unit-aligned bitext with topics.

What is fetched, and how
    ``apt-get update`` into a private folder under the cache, with a private ``sources.list``
    that pins ``deb [arch=A signed-by=KEYRING target=T] MIRROR SUITE COMPONENT``, a private
    ``APT_CONFIG`` that reads no configuration of the host (``Dir::Etc::Main`` and
    ``Dir::Etc::Parts`` point to nothing, so no host hook runs), and ``-o`` options that put
    lists, caches and state in the private folder without locking. The host's apt state is
    never read for sources nor written. ``fetch_english`` fetches ``Packages`` +
    ``Translation-en`` (folder ``<cache>/en``); ``fetch_pair(lang)`` fetches only
    ``Translation-<debian code>`` (folder ``<cache>/<debian code>``; ``zh`` is Debian's
    ``zh_CN``). Every fetched index is decompressed and its sha256 checked against the signed
    ``InRelease``; the checksums of the stored files go to ``<folder>/cache-manifest.json`` and
    a later call re-verifies them and reuses the files instead of downloading again.

Records (docs/research.md §4)
    ``Description-md5: X``, ``Description-<lang>: synopsis``, body lines indented by one space,
    paragraphs separated by `` .`` lines. Wrapped lines are joined with
    :func:`alignxfer.words.join_wrapped` (no space between two CJK characters). A document's
    units are ``[synopsis, paragraph 1, ...]``; its id is the description md5; its ``source`` is
    the source package of the packages carrying it (``Source:`` of ``Packages`` without the
    version, the package name where absent), which the split groups by.

Topics
    A package's Debian ``Section`` (from ``Packages``, joined on ``Description-md5``; area
    prefixes such as ``contrib/`` stripped) collapsed by :data:`SECTION_TOPICS` to eleven
    topics; unmapped sections (doc, misc, metapackages, tasks, ...) give the label ``None``.
"""

from __future__ import annotations

import bz2
import collections
import contextlib
import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alignxfer.io import read_json, read_jsonl, write_json, write_jsonl
from alignxfer.sources.base import Counter, Source, file_lock, sha256_file
from alignxfer.words import join_wrapped

DEFAULTS = {
    "mirror": "http://deb.debian.org/debian",
    "suite": "bookworm",
    "component": "main",
    "architecture": "amd64",
    "keyring": None,  # None: the Debian archive keyring if installed, else apt's trusted keys
}
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

#: our language code -> Debian's Translation-<code> (everything else is the same code)
DEBIAN_LANGUAGE_CODES = {"zh": "zh_CN"}
_OUR_CODES = {debian: ours for ours, debian in DEBIAN_LANGUAGE_CODES.items()}

TOPICS = (
    "libs",
    "devel",
    "system",
    "text",
    "network",
    "desktop",
    "science",
    "games",
    "multimedia",
    "graphics",
    "fonts",
)

#: Debian section (area prefix stripped) -> topic; a section not listed has no topic (None)
SECTION_TOPICS = {
    # shared libraries, their development files, introspection data
    "libs": "libs",
    "oldlibs": "libs",
    "libdevel": "libs",
    "introspection": "libs",
    # programming: tools, languages and their module ecosystems, editors
    "devel": "devel",
    "python": "devel",
    "perl": "devel",
    "ruby": "devel",
    "java": "devel",
    "javascript": "devel",
    "golang": "devel",
    "rust": "devel",
    "haskell": "devel",
    "ocaml": "devel",
    "lisp": "devel",
    "php": "devel",
    "interpreters": "devel",
    "vcs": "devel",
    "debug": "devel",
    "editors": "devel",
    "cli-mono": "devel",
    # operating the system
    "admin": "system",
    "utils": "system",
    "kernel": "system",
    "shells": "system",
    "otherosfs": "system",
    "embedded": "system",
    "database": "system",
    # documents and typesetting, language resources
    "text": "text",
    "tex": "text",
    "localization": "text",
    # networking and communication
    "net": "network",
    "web": "network",
    "httpd": "network",
    "mail": "network",
    "news": "network",
    "comm": "network",
    "hamradio": "network",
    "zope": "network",
    # desktop environments and X
    "x11": "desktop",
    "gnome": "desktop",
    "kde": "desktop",
    "xfce": "desktop",
    "gnustep": "desktop",
    # science, mathematics, statistics (GNU R), electronics, education
    "science": "science",
    "math": "science",
    "gnu-r": "science",
    "electronics": "science",
    "education": "science",
    "games": "games",
    "sound": "multimedia",
    "video": "multimedia",
    "graphics": "graphics",
    "fonts": "fonts",
}
assert set(SECTION_TOPICS.values()) == set(TOPICS)

_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}


def debian_code(lang: str) -> str:
    return DEBIAN_LANGUAGE_CODES.get(lang, lang)


def our_code(debian: str) -> str:
    return _OUR_CODES.get(debian, debian)


def strip_section(section: str | None) -> str | None:
    """``contrib/libs`` -> ``libs`` (any archive-area prefix is removed)."""
    if section is None:
        return None
    section = section.strip()
    return section.rsplit("/", 1)[-1] or None


def section_topic(section: str | None) -> str | None:
    return SECTION_TOPICS.get(strip_section(section) or "")


# ----------------------------------------------------------------------------- parsing


def iter_stanzas(lines: Iterable[str], source: str = "index") -> Iterator[list[tuple[str, str, list[str]]]]:
    """Deb822 stanzas as lists of ``(field, value, continuation lines)``.

    Continuation lines keep their leading whitespace: callers decide how to read them. Stanzas
    are separated by empty lines. A line of only spaces or tabs *between two continuation lines*
    is read as the paragraph separator `` .`` it stands for (real DDTP files contain a few, e.g.
    Translation-fr of bookworm); anywhere else it separates stanzas, as Debian Policy 5.1 allows.
    """
    stanza: list[tuple[str, str, list[str]]] = []
    pending_blank = False  # a whitespace-only line, meaning decided by the next line
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            if line and stanza:
                pending_blank = True
                continue
            if stanza:
                yield stanza
                stanza = []
            pending_blank = False
            continue
        if line[0] in " \t":
            if not stanza:
                raise ValueError(f"{source}:{lineno}: continuation line outside a field: {line!r}")
            if pending_blank:
                stanza[-1][2].append(" .")
                pending_blank = False
            stanza[-1][2].append(line)
            continue
        if pending_blank:
            yield stanza
            stanza = []
            pending_blank = False
        field, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{source}:{lineno}: malformed deb822 line (no ':'): {line!r}")
        stanza.append((field.strip(), value.strip(), []))
    if stanza:
        yield stanza


def description_units(synopsis: str, body: list[str]) -> list[str]:
    """``[synopsis, paragraph, ...]`` from a description's body lines (indented by one space).

    A line `` .`` separates paragraphs; wrapped lines of a paragraph (and verbatim lines,
    indented by more than one space) are joined with :func:`join_wrapped`. Empty paragraphs
    (repeated separators) are skipped.
    """
    units = [" ".join(synopsis.split())]
    current = ""
    for line in body:
        text = line.strip()
        if text == ".":
            if current:
                units.append(current)
            current = ""
            continue
        current = join_wrapped(current, " ".join(text.split()))
    if current:
        units.append(current)
    return units


@dataclass
class TranslationRecord:
    package: str | None
    md5: str | None
    lang: str | None  # Debian code of the Description-<lang> field
    units: list[str]


def parse_translation(lines: Iterable[str], source: str = "Translation index") -> Iterator[TranslationRecord]:
    """Records of a ``Translation-<lang>`` index (``Package``, ``Description-md5``,
    ``Description-<lang>`` with synopsis and body)."""
    for stanza in iter_stanzas(lines, source):
        package = md5 = lang = None
        units: list[str] = []
        for field, value, cont in stanza:
            lower = field.lower()
            if lower == "package":
                package = value
            elif lower == "description-md5":
                md5 = value.lower()
            elif lower.startswith("description-") or lower == "description":
                lang = field[len("Description-") :] if "-" in field else None
                units = description_units(value, cont)
        yield TranslationRecord(package, md5, lang, units)


@dataclass
class PackageInfo:
    sections: collections.Counter
    packages: set
    sources: set = None  # source package names (``Source:`` without its version, else ``Package``)

    def __post_init__(self):
        if self.sources is None:
            self.sources = set()

    @property
    def source(self) -> str | None:
        """The source package of the description (the first by name if packages of several
        sources share it): what the split groups by, so sibling packages share a pool."""
        return min(self.sources) if self.sources else None

    @property
    def section(self) -> str | None:
        """The most frequent section of the packages sharing the description (ties: by name)."""
        if not self.sections:
            return None
        return min(self.sections.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def parse_packages(lines: Iterable[str], source: str = "Packages index") -> dict[str, PackageInfo]:
    """``Description-md5`` -> sections and names of the packages of a ``Packages`` index."""
    info: dict[str, PackageInfo] = {}
    for stanza in iter_stanzas(lines, source):
        fields = {field.lower(): value for field, value, _ in stanza}
        md5 = fields.get("description-md5")
        if not md5:
            continue
        entry = info.setdefault(md5.lower(), PackageInfo(collections.Counter(), set()))
        section = strip_section(fields.get("section"))
        if section:
            entry.sections[section] += 1
        if fields.get("package"):
            entry.packages.add(fields["package"])
        source = (fields.get("source") or "").split("(")[0].strip() or fields.get("package")
        if source:
            entry.sources.add(source)
    return info


def parse_release(text: str) -> dict:
    """Fields and ``SHA256`` file list of a ``Release``/``InRelease`` file (signature ignored)."""
    lines = text.splitlines()
    if lines and lines[0].startswith("-----BEGIN PGP SIGNED MESSAGE"):
        start = lines.index("") + 1 if "" in lines else 1
        end = next((i for i, ln in enumerate(lines) if ln.startswith("-----BEGIN PGP SIGNATURE")), len(lines))
        lines = lines[start:end]
    fields: dict[str, str] = {}
    sha256: dict[str, tuple[str, int]] = {}
    current = None
    for line in lines:
        if line.startswith((" ", "\t")):
            if current == "SHA256":
                parts = line.split()
                if len(parts) == 3:
                    sha256[parts[2]] = (parts[0].lower(), int(parts[1]))
            continue
        field, _, value = line.partition(":")
        current = field.strip()
        fields[current] = value.strip()
    return {"fields": fields, "sha256": sha256}


#: what to do when the release lacks a language's Translation file (both checks below say it)
MISSING_LANGUAGE_HINT = (
    "Remove the language from corpus.languages / corpus.eval_languages, or take its bitext from "
    "corpus.source: local or url"
)


def release_languages(release: dict, component: str) -> list[str]:
    """Debian language codes with a ``<component>/i18n/Translation-<code>`` in the release."""
    pattern = re.compile(rf"^{re.escape(component)}/i18n/Translation-([A-Za-z0-9_@]+?)(\.[a-z0-9]+)?$")
    codes = set()
    for path in release["sha256"]:
        match = pattern.match(path)
        if match:
            codes.add(match.group(1))
    return sorted(codes)


# ----------------------------------------------------------------------------- reading indices


@contextlib.contextmanager
def open_index(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary stream of an index's decompressed content (gz, bz2, xz, plain; anything else
    apt stored, e.g. lz4 or zstd, through ``apt-helper cat-file``)."""
    path = Path(path)
    opener = _COMPRESSED.get(path.suffix)
    if opener is not None:
        with opener(path, "rb") as handle:
            yield handle
    elif path.suffix in (".lz4", ".zst"):
        helper = shutil.which("apt-helper") or "/usr/lib/apt/apt-helper"
        proc = subprocess.Popen([helper, "cat-file", str(path)], stdout=subprocess.PIPE)
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            if proc.wait() != 0:
                raise RuntimeError(f"apt-helper cat-file {path} failed (exit {proc.returncode})")
    else:
        with open(path, "rb") as handle:
            yield handle


def iter_index_lines(path: str | os.PathLike, digest=None) -> Iterator[str]:
    """Decoded lines of an index; ``digest`` (a hashlib object) is fed the raw content."""
    with open_index(path) as handle:
        for lineno, raw in enumerate(handle, 1):
            if digest is not None:
                digest.update(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{path}:{lineno}: invalid UTF-8 in a Debian index") from err


def content_digest(path: str | os.PathLike) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open_index(path) as handle:
        while True:
            block = handle.read(1 << 20)
            if not block:
                break
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# ----------------------------------------------------------------------------- apt


def write_apt_config(
    root: str | os.PathLike,
    *,
    mirror: str,
    suite: str,
    component: str,
    architecture: str,
    targets: list[str],
    keyring: str | None,
    trusted: bool = False,
) -> dict[str, Path]:
    """Write the private apt configuration under ``root``; returns its paths.

    ``trusted`` (only for unsigned local ``file://`` mirrors) accepts a release without a
    signature; the indices are still checked against the release's sha256 lines.
    """
    root = Path(root).absolute()
    paths = {
        "root": root,
        "lists": root / "lists",
        "cache": root / "cache",
        "etc": root / "etc",
        "parts": root / "etc" / "apt.conf.d",
        "source_parts": root / "etc" / "sources.list.d",
        "sources": root / "etc" / "sources.list",
        "apt_conf": root / "etc" / "apt.conf",
        "status": root / "etc" / "status",
    }
    for key in ("lists", "cache", "parts", "source_parts"):
        paths[key].mkdir(parents=True, exist_ok=True)
    (paths["lists"] / "partial").mkdir(exist_ok=True)
    paths["status"].touch()
    for key, value in (("mirror", mirror), ("suite", suite), ("component", component), ("architecture", architecture)):
        if not value or any(ch.isspace() or ord(ch) < 32 or ch in "[]" for ch in str(value)):
            raise ValueError(
                f"corpus.ddtp.{key}: {value!r} cannot go into apt's sources.list (whitespace, a control character or a bracket)"
            )
    opts = [f"arch={architecture}", f"target={','.join(targets)}"]
    if trusted:
        opts.append("trusted=yes")
    elif keyring:
        opts.append(f"signed-by={keyring}")
    paths["sources"].write_text(f"deb [{' '.join(opts)}] {mirror} {suite} {component}\n", encoding="utf-8")
    # Read before the command line: keeps every configuration file of the host out.
    paths["apt_conf"].write_text(
        f'Dir::Etc::Main "/dev/null";\nDir::Etc::Parts "{paths["parts"]}";\n', encoding="utf-8"
    )
    return paths


def apt_update_command(
    paths: dict[str, Path], *, languages: list[str], architecture: str, mirror: str = ""
) -> tuple[list[str], dict[str, str]]:
    """``(argv, extra environment)`` of the private ``apt-get update``."""
    opts = {
        "Dir::Etc::SourceList": paths["sources"],
        "Dir::Etc::SourceParts": paths["source_parts"],
        "Dir::State::Lists": paths["lists"],
        "Dir::State::status": paths["status"],
        "Dir::Cache": paths["cache"],
        "Dir::Cache::pkgcache": "",
        "Dir::Cache::srcpkgcache": "",
        "Debug::NoLocking": "true",
        "APT::Architecture": architecture,
        "APT::Architectures": architecture,
        "Acquire::Languages": ",".join(languages),
        "Acquire::PDiffs": "false",
        "Acquire::Retries": "3",
        # keep indices compressed, as gzip (readable by Python without apt)
        "Acquire::GzipIndexes": "true",
        "Acquire::IndexTargets::deb::Packages::KeepCompressedAs": "gz",
        "Acquire::IndexTargets::deb::Translations::KeepCompressedAs": "gz",
    }
    if "snapshot.debian.org" in mirror:
        opts["Acquire::Check-Valid-Until"] = "false"  # snapshots are expired by design
    argv = ["apt-get", "-q", "update"]
    for key, value in opts.items():
        argv += ["-o", f"{key}={value}"]
    return argv, {"APT_CONFIG": str(paths["apt_conf"])}


def run_apt_update(argv: list[str], env: dict[str, str]) -> str:
    if shutil.which(argv[0]) is None:
        raise RuntimeError(
            "the ddtp source needs apt-get (a Debian or Ubuntu machine); elsewhere, set "
            "corpus.source to 'url' or 'local' with bitext fetched by other means"
        )
    proc = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        hint = ""
        if os.geteuid() != 0:
            hint = (
                "\napt-get ran as a non-root user with private state folders (apt >= 2 allows "
                "this). If it refused for lack of privileges, run the download rules as root "
                "(e.g. `sudo -E snakemake results/corpus/en.jsonl ...`) or in a Debian container, "
                "or fetch the corpus elsewhere and use corpus.source: local."
            )
        raise RuntimeError(f"apt-get update failed (exit {proc.returncode}):\n{tail}{hint}")
    return proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- the source


def _index_pattern(suite: str, component: str, architecture: str, target: str) -> re.Pattern:
    suite = re.escape(suite.replace("/", "_"))
    comp = re.escape(component.replace("/", "_"))
    if target == "Packages":
        tail = rf"_dists_{suite}_{comp}_binary-{re.escape(architecture)}_Packages"
    else:
        tail = rf"_dists_{suite}_{comp}_i18n_Translation-{re.escape(target)}"
    return re.compile(tail + r"(\.(gz|bz2|xz|lzma|lz4|zst))?$")


class DdtpSource(Source):
    name = "ddtp"
    has_labels = True
    option_keys = frozenset(DEFAULTS)

    def __init__(self, options: dict | None = None):
        super().__init__(options)
        self.settings = {key: self.options.get(key, default) for key, default in DEFAULTS.items()}
        if self.settings["keyring"] is None and Path(DEFAULT_KEYRING).exists():
            self.settings["keyring"] = DEFAULT_KEYRING
        self.settings["mirror"] = self.settings["mirror"].rstrip("/")

    def languages(self) -> list[str] | None:
        return None  # known only from the release index (see fetch_pair's error)

    def unsigned_local_mirror(self) -> bool:
        """A ``file://`` mirror whose release has no signature (a test fixture, a local copy)."""
        mirror = self.settings["mirror"]
        if not mirror.startswith("file:"):
            return False
        dist = Path(urllib.parse.unquote(urllib.parse.urlparse(mirror).path)) / "dists" / self.settings["suite"]
        return not (dist / "InRelease").exists() and not (dist / "Release.gpg").exists()

    # -- fetching into the cache ------------------------------------------------------------

    def _fetch(self, cache_dir, key: str, targets: list[str], languages: list[str], indices: list[str]) -> dict:
        """Fetch (or reuse) the indices into ``<cache_dir>/<key>``; returns the cache manifest.

        ``indices`` are ``Packages`` and/or Debian language codes of ``Translation-*``.
        """
        s = self.settings
        root = Path(cache_dir).resolve() / key  # apt writes absolute paths under it
        trusted = self.unsigned_local_mirror()
        wanted = {**s, "targets": targets, "languages": languages, "indices": indices, "unsigned_local": trusted}
        manifest_path = root / "cache-manifest.json"
        with file_lock(Path(cache_dir) / f".{key}.lock"):
            if manifest_path.exists():
                cached = read_json(manifest_path)
                if cached.get("settings") == wanted and self._verify(root, cached):
                    cached["reused"] = True
                    return cached
            paths = write_apt_config(
                root,
                mirror=s["mirror"],
                suite=s["suite"],
                component=s["component"],
                architecture=s["architecture"],
                targets=targets,
                keyring=s["keyring"],
                trusted=trusted,
            )
            argv, env = apt_update_command(
                paths, languages=languages, architecture=s["architecture"], mirror=s["mirror"]
            )
            start = time.time()
            run_apt_update(argv, env)
            elapsed = time.time() - start
            release_file = self._release_file(paths["lists"])
            release = parse_release(release_file.read_text(encoding="utf-8"))
            files = [self._file_entry(root, release_file, release=None)]
            missing = []
            for index in indices:
                found = self._find_index(paths["lists"], index)
                if found is None:
                    missing.append(index)
                    continue
                files.append(self._file_entry(root, found, release=release, index=index))
            if missing:
                offered = [our_code(c) for c in release_languages(release, s["component"]) if c != "en"]
                what = ", ".join("Packages" if m == "Packages" else f"Translation-{m}" for m in missing)
                raise ValueError(
                    f"ddtp: {s['suite']}/{s['component']} at {s['mirror']} has no {what}; "
                    f"languages it has: {', '.join(sorted(set(offered)))}. {MISSING_LANGUAGE_HINT}"
                )
            fields = release["fields"]
            cache = {
                "settings": wanted,
                "release": {
                    "signature": "none: unsigned local file:// mirror"
                    if trusted
                    else (s["keyring"] or "apt's trusted keys"),
                    "file": files[0]["path"],
                    "sha256": files[0]["sha256"],
                    "date": fields.get("Date"),
                    "valid_until": fields.get("Valid-Until"),
                    "suite": fields.get("Suite"),
                    "codename": fields.get("Codename"),
                    "version": fields.get("Version"),
                },
                "offered_languages": release_languages(release, s["component"]),
                "files": files,
                "apt_command": argv,
                "fetch_seconds": round(elapsed, 2),
                "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            write_json(manifest_path, cache)
            cache["reused"] = False
            return cache

    @staticmethod
    def _release_file(lists: Path) -> Path:
        for pattern in ("*_InRelease", "*_Release"):
            found = sorted(lists.glob(pattern))
            if found:
                return found[0]
        raise RuntimeError(f"apt-get update left no InRelease/Release file in {lists}")

    def _find_index(self, lists: Path, index: str) -> Path | None:
        s = self.settings
        pattern = _index_pattern(s["suite"], s["component"], s["architecture"], index)
        # apt escapes some characters of the URL in list file names: Translation-zh%5fCN
        found = sorted(p for p in lists.iterdir() if p.is_file() and pattern.search(urllib.parse.unquote(p.name)))
        return found[0] if found else None

    def _file_entry(self, root: Path, path: Path, release: dict | None, index: str | None = None) -> dict:
        s = self.settings
        if index is None:
            url = f"{s['mirror']}/dists/{s['suite']}/{path.name.rsplit('_', 1)[-1]}"
        elif index == "Packages":
            url = f"{s['mirror']}/dists/{s['suite']}/{s['component']}/binary-{s['architecture']}/Packages"
        else:
            url = f"{s['mirror']}/dists/{s['suite']}/{s['component']}/i18n/Translation-{index}"
        entry = {
            "path": str(path.relative_to(root)),
            "url": url,
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
        if release is not None:
            rel_path = url.split(f"/dists/{s['suite']}/", 1)[1]
            content_sha, content_bytes = content_digest(path)
            expected = release["sha256"].get(rel_path)
            if expected is None:
                raise RuntimeError(f"ddtp: {rel_path} is not listed in the release file")
            if expected[0] != content_sha:
                raise RuntimeError(
                    f"ddtp: {path} does not match the signed release: sha256 of content "
                    f"{content_sha}, release says {expected[0]} for {rel_path}"
                )
            entry.update(
                index=index, content_sha256=content_sha, content_bytes=content_bytes, verified_against_release=True
            )
        return entry

    @staticmethod
    def _verify(root: Path, cached: dict) -> bool:
        for entry in cached.get("files", []):
            path = root / entry["path"]
            if not path.is_file() or path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
                return False
        return bool(cached.get("files"))

    def _manifest_files(self, cache_dir, key: str, cache: dict) -> list[dict]:
        out = []
        for entry in cache["files"]:
            entry = dict(entry)
            entry["path"] = str(Path(cache_dir) / key / entry["path"])
            out.append(entry)
        return out

    def _index_path(self, cache_dir, key: str, cache: dict, index: str) -> Path:
        for entry in cache["files"]:
            if entry.get("index") == index:
                return Path(cache_dir) / key / entry["path"]
        raise KeyError(index)

    def _fetch_english_indices(self, cache_dir) -> dict:
        return self._fetch(cache_dir, "en", ["Packages", "Translations"], ["en"], ["Packages", "en"])

    # -- building documents -------------------------------------------------------------------

    def english_documents(self, cache_dir, cache: dict) -> tuple[list[dict], Counter, Counter]:
        counts, drops = Counter(), Counter()
        packages_path = self._index_path(cache_dir, "en", cache, "Packages")
        packages = parse_packages(iter_index_lines(packages_path), str(packages_path))
        counts.add("packages_descriptions", len(packages))
        docs, seen = [], set()
        en_path = self._index_path(cache_dir, "en", cache, "en")
        for rec in parse_translation(iter_index_lines(en_path), str(en_path)):
            counts.add("translation_records")
            if not rec.md5:
                drops.add("no_md5")
                continue
            if rec.md5 in seen:
                drops.add("duplicate_md5")
                continue
            seen.add(rec.md5)
            if not any(rec.units):
                drops.add("empty_description")
                continue
            info = packages.get(rec.md5)
            section = info.section if info else None
            names = sorted(info.packages) if info else ([rec.package] if rec.package else [])
            if info is None:
                counts.add("not_in_packages")
            label = section_topic(section)
            source = (info.source if info else None) or rec.package or rec.md5
            docs.append(
                {
                    "doc_id": rec.md5,
                    "units": rec.units,
                    "label": label,
                    "section": section,
                    "packages": names,
                    "source": source,
                }
            )
        counts.add("packages_without_translation_en", len(set(packages) - seen))
        counts.add("documents", len(docs))
        counts.add("units", sum(len(d["units"]) for d in docs))
        counts.add("labelled_documents", sum(d["label"] is not None for d in docs))
        return docs, counts, drops

    def fetch_english(self, cache_dir, out_jsonl, manifest_path) -> dict:
        cache = self._fetch_english_indices(cache_dir)
        docs, counts, drops = self.english_documents(cache_dir, cache)
        write_jsonl(out_jsonl, docs)
        labels = collections.Counter(d["label"] for d in docs)
        manifest = self._manifest(cache_dir, "en", cache, counts, drops)
        manifest["labels"] = {str(k): v for k, v in sorted(labels.items(), key=lambda kv: str(kv[0]))}
        write_json(manifest_path, manifest)
        return manifest

    def fetch_pair(self, lang, cache_dir, out_jsonl, manifest_path, english_jsonl=None) -> dict:
        code = debian_code(lang)
        if code == "en":
            raise ValueError("ddtp: a pair language must not be English")
        # Fail early, without a download, when a cached release already tells the language is missing.
        en_cache = Path(cache_dir) / "en" / "cache-manifest.json"
        if en_cache.exists():
            offered = read_json(en_cache).get("offered_languages")
            if offered and code not in offered:
                names = sorted({our_code(c) for c in offered if c != "en"})
                raise ValueError(
                    f"ddtp: {self.settings['suite']}/{self.settings['component']} has no "
                    f"Translation-{code} (language {lang!r}); languages it has: {', '.join(names)}. "
                    f"{MISSING_LANGUAGE_HINT}"
                )
        cache = self._fetch(cache_dir, code, ["Translations"], [code], [code])
        counts, drops = Counter(), Counter()
        english = {}
        if english_jsonl is not None:
            for doc in read_jsonl(english_jsonl):
                english[doc["doc_id"]] = (doc["units"], doc.get("label"), doc.get("source"))
            english_from = str(english_jsonl)
        else:
            en = self._fetch_english_indices(cache_dir)
            docs, _, _ = self.english_documents(cache_dir, en)
            english = {d["doc_id"]: (d["units"], d["label"], d.get("source")) for d in docs}
            english_from = "cache"
        records = []
        seen = set()
        xx_path = self._index_path(cache_dir, code, cache, code)
        for rec in parse_translation(iter_index_lines(xx_path), str(xx_path)):
            counts.add("translation_records")
            if not rec.md5:
                drops.add("no_md5")
                continue
            if rec.md5 in seen:
                drops.add("duplicate_md5")
                continue
            seen.add(rec.md5)
            if rec.md5 not in english:
                drops.add("no_english")
                continue
            en_units, label, source = english[rec.md5]
            if len(en_units) != len(rec.units):
                drops.add("paragraph_count_mismatch")
                continue
            record = {"doc_id": rec.md5, "en": en_units, "xx": rec.units, "label": label}
            if source:
                record["source"] = source
            records.append(record)
        write_jsonl(out_jsonl, records)
        counts.add("documents", len(records))
        counts.add("units", sum(len(r["en"]) for r in records))
        counts.add("labelled_documents", sum(r["label"] is not None for r in records))
        manifest = self._manifest(cache_dir, code, cache, counts, drops)
        manifest.update(lang=lang, debian_lang=code, english_from=english_from)
        write_json(manifest_path, manifest)
        return manifest

    def _manifest(self, cache_dir, key: str, cache: dict, counts: Counter, drops: Counter) -> dict:
        return {
            "source": self.name,
            "settings": {k: v for k, v in self.settings.items()},
            "release": cache["release"],
            "files": self._manifest_files(cache_dir, key, cache),
            "cache": {
                "folder": str(Path(cache_dir) / key),
                "reused": cache["reused"],
                "fetched_at": cache.get("fetched_at"),
                "fetch_seconds": cache.get("fetch_seconds"),
            },
            "apt_command": cache.get("apt_command"),
            "counts": counts.sorted(),
            "drops": drops.sorted(),
        }
