"""Bitext from local files (and the format readers shared with the ``url`` source).

Options (``corpus.local``)::

    invalid_utf8: error            # error | replace (U+FFFD, counted); default error
    pairs:
      de:                          # one pair file, "en<TAB>xx" a line
        format: tsv
        path: data/en-de.tsv       # plain, .gz/.bz2/.xz, or an archive (.zip .tar .tar.gz .tgz
        member: en-de.tsv          #   .tar.bz2 .tar.xz) with the member path inside it
        sha256: <64 hex>           # optional for local files (always recorded)
      fr:                          # Moses: two line-aligned files, one per side
        format: moses
        en: {path: data/fr/train.en, sha256: ...}
        xx: {path: data/fr/train.fr}
      ja:                          # Moses, both sides inside one archive
        format: moses
        path: data/en-ja.zip
        en: {member: en-ja/train.en}
        xx: {member: en-ja/train.ja}

Every line is one document with one unit (``doc_id`` = ``local:<lang>:<line number>``, 1-based,
the same line number in both Moses files); lines with an empty side are dropped and counted
(``empty_line``). Relative paths are relative to the working directory (the project root when
Snakemake runs the job).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import itertools
import lzma
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alignxfer.io import write_json, write_jsonl
from alignxfer.sources.base import Counter, Source, file_record, sha256_file

FORMATS = ("tsv", "moses")
INVALID_UTF8 = ("error", "replace")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
COMPRESSED_SUFFIXES = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


@dataclass
class FileRef:
    """One side's file: where it lives (url or path), its checksum, its member in an archive."""

    location: str
    sha256: str | None = None
    member: str | None = None

    @property
    def display(self) -> str:
        return f"{self.location} (member {self.member})" if self.member else self.location


def _member_kind(info) -> str:
    if isinstance(info, zipfile.ZipInfo):
        mode = (info.external_attr >> 16) & 0o170000
        return {
            0o120000: "a symbolic link",
            0o020000: "a device file",
            0o060000: "a device file",
            0o010000: "a FIFO",
        }.get(mode, "a folder" if info.is_dir() else "")
    if info.issym():
        return f"a symbolic link (to {info.linkname!r})"
    if info.islnk():
        return f"a hard link (to {info.linkname!r})"
    if info.ischr() or info.isblk():
        return "a device file"
    if info.isfifo():
        return "a FIFO"
    if info.isdir():
        return "a folder"
    return "" if info.isreg() else "not a regular file"


def check_member(info, display: str) -> None:
    """Refuse an archive member that is not a plain file inside the archive: an absolute path, a
    path with '..', a link, a device file or a FIFO (members are read as streams, never extracted,
    but such a member is never bitext and may point outside the archive)."""
    name = info.filename if isinstance(info, zipfile.ZipInfo) else info.name
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise ValueError(
            f"{display}: member {name!r} has an absolute path or '..'; refused (the archive is not trusted)"
        )
    kind = _member_kind(info)
    if kind:
        raise ValueError(
            f"{display}: member {name!r} is {kind}, not a regular file; refused (name a regular file as 'member')"
        )
    if isinstance(info, tarfile.TarInfo):  # and what tarfile's own 'data' extraction filter refuses
        try:
            tarfile.data_filter(info, "/nonexistent-extraction-root")
        except tarfile.FilterError as err:
            raise ValueError(f"{display}: member {name!r} refused by tarfile's data filter ({err})") from None


@contextlib.contextmanager
def open_bitext_file(path: str | Path, member: str | None, display: str) -> Iterator[IO[bytes]]:
    """A binary stream of a plain/compressed file, or of an archive member."""
    path = Path(path)
    name = str(path).lower()
    if is_archive(name):
        if not member:
            raise ValueError(f"{display}: an archive needs 'member' (the path of the file inside it)")
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                try:
                    info = archive.getinfo(member)
                except KeyError:
                    raise ValueError(
                        f"{display}: no member {member!r} in the archive; it has: "
                        f"{', '.join(n for n in archive.namelist() if not n.endswith('/'))[:1000]}"
                    ) from None
                check_member(info, display)
                with archive.open(info) as handle:
                    yield handle
        else:
            with tarfile.open(path, "r:*") as archive:
                try:
                    info = archive.getmember(member)
                except KeyError:
                    names = [m.name for m in archive.getmembers() if m.isfile()]
                    raise ValueError(
                        f"{display}: no member {member!r} in the archive; it has: {', '.join(names)[:1000]}"
                    ) from None
                check_member(info, display)
                handle = archive.extractfile(info)
                if handle is None:
                    raise ValueError(f"{display}: member {member!r} is not a regular file")
                with handle:
                    yield handle
        return
    if member:
        raise ValueError(f"{display}: 'member' is only for archives ({', '.join(ARCHIVE_SUFFIXES)})")
    opener = COMPRESSED_SUFFIXES.get(path.suffix.lower(), open)
    with opener(path, "rb") as handle:
        yield handle


def decode_lines(
    stream: IO[bytes], display: str, invalid_utf8: str, counts: Counter, key: str = "corpus.local.invalid_utf8"
) -> Iterator[str]:
    """Lines (without line ending) of a UTF-8 stream; invalid UTF-8 fails with file and line,
    or is replaced with U+FFFD and counted (``invalid_utf8_replaced``)."""
    for lineno, raw in enumerate(stream, 1):
        raw = raw.rstrip(b"\n").rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            if invalid_utf8 != "replace":
                raise ValueError(
                    f"{display}:{lineno}: invalid UTF-8 at byte {err.start} of the line; "
                    f"re-encode the file as UTF-8, or set {key}: replace to replace such bytes with U+FFFD"
                ) from None
            text = raw.decode("utf-8", errors="replace")
            counts.add("invalid_utf8_replaced")
        if lineno == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield text


class LocalSource(Source):
    name = "local"
    has_labels = False
    option_keys = frozenset({"pairs", "invalid_utf8"})
    location_key = "path"

    def __init__(self, options: dict | None = None):
        super().__init__(options)
        self.pairs = dict(self.options.get("pairs") or {})
        self.invalid_utf8 = self.options.get("invalid_utf8", "error")
        if self.invalid_utf8 not in INVALID_UTF8:
            raise ValueError(
                f"corpus.{self.name}.invalid_utf8 must be one of {INVALID_UTF8}, not {self.invalid_utf8!r}"
            )

    def languages(self) -> list[str] | None:
        return sorted(self.pairs)

    # -- options -------------------------------------------------------------------------------

    def _spec(self, lang: str) -> tuple[str, list[FileRef]]:
        if lang not in self.pairs:
            raise ValueError(
                f"corpus.{self.name}: no entry for language {lang!r} under 'pairs'; "
                f"languages it has: {', '.join(sorted(self.pairs)) or '(none)'}"
            )
        spec = dict(self.pairs[lang] or {})
        where = f"corpus.{self.name}.pairs.{lang}"
        allowed = {"format", "url", "path", "sha256", "member", "en", "xx"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(allowed)}")
        fmt = spec.get("format")
        if fmt not in FORMATS:
            raise ValueError(f"{where}.format must be one of {FORMATS}, not {fmt!r}")
        other = "url" if self.location_key == "path" else "path"
        if other in spec:
            raise ValueError(f"{where}: the {self.name} source takes '{self.location_key}', not '{other}'")
        top = FileRef(spec.get(self.location_key), spec.get("sha256"), spec.get("member"))
        if fmt == "tsv":
            if "en" in spec or "xx" in spec:
                raise ValueError(f"{where}: format tsv takes one file ({self.location_key}), not en/xx")
            refs = [top]
        else:
            if not isinstance(spec.get("en"), dict) or not isinstance(spec.get("xx"), dict):
                raise ValueError(f"{where}: format moses needs 'en' and 'xx' entries (one file each)")
            if top.member:
                raise ValueError(f"{where}: with format moses give each side's member under en/xx")
            refs = []
            for side in ("en", "xx"):
                sub = dict(spec[side])
                bad = sorted(set(sub) - {self.location_key, "sha256", "member"})
                if bad:
                    raise ValueError(f"{where}.{side}: unknown key(s) {bad}")
                if sub.get(self.location_key):
                    refs.append(FileRef(sub[self.location_key], sub.get("sha256"), sub.get("member")))
                else:  # a member of the top-level archive
                    refs.append(FileRef(top.location, top.sha256, sub.get("member")))
        for ref in refs:
            if not ref.location:
                raise ValueError(f"{where}: missing '{self.location_key}'")
            if ref.sha256 is not None:
                ref.sha256 = str(ref.sha256).lower()
        self._check_refs(where, refs)
        return fmt, refs

    def _check_refs(self, where: str, refs: list[FileRef]) -> None:
        pass

    # -- files ---------------------------------------------------------------------------------

    def _materialize(self, ref: FileRef, cache_dir) -> tuple[Path, dict]:
        """The local path of a file, and its manifest record."""
        path = Path(ref.location)
        if not path.is_file():
            raise FileNotFoundError(f"corpus.{self.name}: no such file: {path}")
        actual = sha256_file(path)
        if ref.sha256 and actual != ref.sha256:
            raise ValueError(
                f"{path}: sha256 mismatch: expected {ref.sha256}, actual {actual}; the file is not the one the "
                f"config names: restore it, or put its sha256 in the config if the new file is the one you trust"
            )
        return path, file_record(path, url=None, member=ref.member, expected_sha256=ref.sha256)

    # -- reading -------------------------------------------------------------------------------

    def read_pairs(
        self, fmt: str, paths: list[Path], refs: list[FileRef], counts: Counter
    ) -> Iterator[tuple[int, str, str]]:
        """``(line number, en, xx)`` of every line (empty ones included)."""
        with contextlib.ExitStack() as stack:
            streams = [
                decode_lines(
                    stack.enter_context(open_bitext_file(p, r.member, r.display)),
                    r.display,
                    self.invalid_utf8,
                    counts,
                    key=f"corpus.{self.name}.invalid_utf8",
                )
                for p, r in zip(paths, refs)
            ]
            if fmt == "tsv":
                display = refs[0].display
                for lineno, line in enumerate(streams[0], 1):
                    if not line.strip():
                        yield lineno, "", ""
                        continue
                    fields = line.split("\t")
                    if len(fields) != 2:
                        raise ValueError(
                            f"{display}:{lineno}: expected 2 tab-separated fields (en, xx), found {len(fields)}; "
                            "format tsv takes one tab a line: replace a tab inside a text by a space, or give the "
                            "two sides as two files (format moses)"
                        )
                    yield lineno, fields[0], fields[1]
                return
            sentinel = object()
            n_en = n_xx = 0
            for lineno, (en, xx) in enumerate(itertools.zip_longest(*streams, fillvalue=sentinel), 1):
                if en is sentinel or xx is sentinel:
                    n_en = lineno - 1 + (en is not sentinel) + sum(1 for _ in streams[0])
                    n_xx = lineno - 1 + (xx is not sentinel) + sum(1 for _ in streams[1])
                    raise ValueError(
                        f"moses sides differ in line count: {refs[0].display} has {n_en} lines, "
                        f"{refs[1].display} has {n_xx} lines"
                    )
                yield lineno, en, xx

    def fetch_pair(self, lang, cache_dir, out_jsonl, manifest_path, english_jsonl=None) -> dict:
        fmt, refs = self._spec(lang)
        files, paths = [], []
        for ref in refs:
            path, record = self._materialize(ref, cache_dir)
            paths.append(path)
            files.append(record)
        counts, drops = Counter(), Counter()
        records = []
        for lineno, en, xx in self.read_pairs(fmt, paths, refs, counts):
            counts.add("lines")
            if not en.strip() or not xx.strip():
                drops.add("empty_line")
                continue
            records.append({"doc_id": f"{self.name}:{lang}:{lineno}", "en": [en], "xx": [xx], "label": None})
        write_jsonl(out_jsonl, records)
        counts.add("documents", len(records))
        counts.add("units", len(records))
        counts.setdefault("invalid_utf8_replaced", 0)
        manifest = {
            "source": self.name,
            "lang": lang,
            "format": fmt,
            "invalid_utf8": self.invalid_utf8,
            "files": files,
            "counts": counts.sorted(),
            "drops": drops.sorted(),
        }
        write_json(manifest_path, manifest)
        return manifest
