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

A study whose checksums are not known yet (``configs/paper.yaml`` as shipped) fails validation
until they are filled in; ``python -m alignxfer.sources.url CONFIG...`` (:func:`main`) downloads
every url that lacks one into the cache, where :func:`download` then finds it, and prints the
checksums as a config overlay.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

from alignxfer.config import CHECKSUM_HINT, merge_config
from alignxfer.io import emit_overlay
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
                raise ValueError(
                    f"{where}: {ref.location} needs a sha256 (a download is checked against it); {CHECKSUM_HINT}"
                )
            if not _SHA256.match(ref.sha256):
                raise ValueError(f"{where}: sha256 of {ref.location} must be 64 hex digits, not {ref.sha256!r}")

    def _materialize(self, ref: FileRef, cache_dir) -> tuple[Path, dict]:
        path, reused = download(ref.location, ref.sha256, cache_dir)
        return path, file_record(path, url=ref.location, member=ref.member, cache_reused=reused)


# --------------------------------------------------------------------------- filling in checksums


def fetch_and_hash(url: str, cache_dir, timeout: float = 120.0) -> tuple[str, Path]:
    """Download ``url`` (no checksum known yet) into the cache, at the place :func:`download`
    looks for it (``<cache_dir>/<sha256>/<file name>``); returns ``(sha256, path)``."""
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name or "download"
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.{os.getpid()}.part"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        sha256 = digest.hexdigest()
        dest = folder / sha256 / name
        with file_lock(folder / f".{sha256}.lock"):
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, dest)
    finally:
        if part.exists():
            part.unlink()
    return sha256, dest


def missing_checksums(cfg: dict) -> list[tuple[tuple[str, ...], str]]:
    """``(key path under corpus.url.pairs, url)`` of every url in ``cfg`` that has no sha256."""
    out = []
    pairs = (cfg.get("corpus") or {}).get("url", {}).get("pairs", {}) or {}
    for lang, entry in pairs.items():
        for side in ("", "en", "xx"):
            spec = entry.get(side) or {} if side else entry
            if spec.get("url") and not spec.get("sha256"):
                out.append(((lang,) + ((side,) if side else ()), spec["url"]))
    return out


def checksum_overlay(cfg: dict, cache_dir, log=print) -> dict:
    """Download every url of ``cfg`` lacking a sha256; the config overlay that adds the checksums."""
    overlay: dict = {}
    for keys, url in missing_checksums(cfg):
        log(f"downloading {url} ...")
        sha256, path = fetch_and_hash(url, cache_dir)
        log(f"  {sha256}  {path} ({path.stat().st_size} bytes)")
        node = overlay.setdefault("corpus", {}).setdefault("url", {}).setdefault("pairs", {})
        for key in keys:
            node = node.setdefault(key, {})
        node["sha256"] = sha256
    return overlay


def main(argv=None) -> int:
    """``python -m alignxfer.sources.url CONFIG [CONFIG...]``: fill in the missing sha256 of corpus.url."""
    import argparse
    import sys

    import yaml

    parser = argparse.ArgumentParser(
        prog="python -m alignxfer.sources.url",
        description="Download every corpus.url file of the given config(s) that has no sha256 yet (into the "
        "workflow's cache, where the download rule will find it) and print a config overlay with the checksums. "
        "Check what you downloaded before trusting it.",
    )
    parser.add_argument("configs", nargs="+", help="config files, merged in order like snakemake --configfile")
    parser.add_argument(
        "--cache-dir", default="resources/url", help="the workflow's download cache (default: %(default)s)"
    )
    parser.add_argument("--output", help="write the overlay YAML here (default: standard output)")
    args = parser.parse_args(argv)
    cfg: dict = {}
    for path in args.configs:
        with open(path, encoding="utf-8") as handle:
            merge_config(cfg, yaml.safe_load(handle) or {})
    if not missing_checksums(cfg):
        print("every corpus.url file already has a sha256", file=sys.stderr)
        return 0
    overlay = checksum_overlay(cfg, args.cache_dir, log=lambda msg: print(msg, file=sys.stderr))
    text = "# sha256 of the corpus.url files, computed by python -m alignxfer.sources.url\n" + yaml.safe_dump(
        overlay, sort_keys=True
    )
    return emit_overlay(text, args.output, args.configs)


if __name__ == "__main__":
    raise SystemExit(main())
