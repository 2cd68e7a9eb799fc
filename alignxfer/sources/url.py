"""Bitext downloaded over HTTP(S) (or read from a ``file://`` URL), checked by sha256.

Options (``corpus.url``): the shape of ``corpus.local`` (see :mod:`alignxfer.sources.local`)
with ``url`` instead of ``path`` and a required ``sha256`` for every file::

    invalid_utf8: error
    pairs:
      de: {format: tsv, url: "https://example.org/en-de.tsv.gz", sha256: <64 hex>}
      fr:
        format: moses
        en: {url: "https://example.org/train.en", sha256: ...}
        xx: {url: "https://example.org/train.fr", sha256: ...}
      ja:
        format: moses
        url: "https://example.org/en-ja.tar.gz"
        sha256: ...
        en: {member: en-ja/train.en}
        xx: {member: en-ja/train.ja}

Files are cached as ``<cache_dir>/<sha256>/<file name>``; a cached file whose checksum matches
is never downloaded again. A download whose checksum does not match fails naming the URL and
both checksums, and leaves every existing file as it was. ``doc_id`` = ``url:<lang>:<line>``.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

from alignxfer.sources.base import file_lock, file_record, sha256_file
from alignxfer.sources.local import FileRef, LocalSource

SCHEMES = ("http", "https", "file")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def download(url: str, sha256: str, cache_dir, timeout: float = 120.0) -> tuple[Path, bool]:
    """Fetch ``url`` into the cache unless a file with that checksum is there; ``(path, reused)``."""
    sha256 = sha256.lower()
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name or "download"
    folder = Path(cache_dir) / sha256
    dest = folder / name
    with file_lock(Path(cache_dir) / f".{sha256}.lock"):
        if dest.is_file() and sha256_file(dest) == sha256:
            return dest, True
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".{name}.{os.getpid()}.part"
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                while True:
                    block = response.read(1 << 20)
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
            actual = digest.hexdigest()
            if actual != sha256:
                raise ValueError(
                    f"sha256 mismatch for {url}: expected {sha256}, actual {actual}; "
                    "nothing was overwritten (fix the url or the sha256 in corpus.url)"
                )
            os.replace(part, dest)
        finally:
            if part.exists():
                part.unlink()
    return dest, False


class UrlSource(LocalSource):
    name = "url"
    location_key = "url"

    def _check_refs(self, where: str, refs: list[FileRef]) -> None:
        for ref in refs:
            scheme = urllib.parse.urlparse(ref.location).scheme.lower()
            if scheme not in SCHEMES:
                raise ValueError(f"{where}: {ref.location!r} is not an http(s):// or file:// URL")
            if not ref.sha256:
                raise ValueError(f"{where}: {ref.location} needs a sha256 (a download is checked against it)")
            if not _SHA256.match(ref.sha256):
                raise ValueError(f"{where}: sha256 of {ref.location} must be 64 hex digits, not {ref.sha256!r}")

    def _materialize(self, ref: FileRef, cache_dir) -> tuple[Path, dict]:
        path, reused = download(ref.location, ref.sha256, cache_dir)
        return path, file_record(path, url=ref.location, member=ref.member, cache_reused=reused)
