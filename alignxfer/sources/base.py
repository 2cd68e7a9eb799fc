"""The interface every corpus source implements, and helpers shared by the sources.

A source turns some external corpus into the two file contracts of the download stage
(docs/architecture.md): ``en.jsonl`` (labelled English documents, only for sources that have
labels) and ``en-{lang}.jsonl`` (documents with unit-aligned English and target-language text),
each with a JSON manifest of what was fetched (paths, URLs, sha256, sizes), counts and drops.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Source:
    """Base class of the corpus sources (see :mod:`alignxfer.sources`)."""

    name: str = "source"
    has_labels: bool = False
    #: option keys the source accepts (anything else is a configuration error)
    option_keys: frozenset[str] = frozenset()

    def __init__(self, options: dict | None = None):
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.option_keys))
        if unknown:
            raise ValueError(
                f"corpus.{self.name}: unknown option(s) {unknown}; known options: {sorted(self.option_keys)}"
            )
        self.options = options

    def languages(self) -> list[str] | None:
        """The languages this source offers, if knowable without a download, else None."""
        return None

    def fetch_english(self, cache_dir, out_jsonl, manifest_path) -> dict:
        raise ValueError(
            f"corpus source {self.name!r} has no labelled English documents "
            "(only 'ddtp' has); the topic task needs corpus.source: ddtp"
        )

    def fetch_pair(self, lang, cache_dir, out_jsonl, manifest_path, english_jsonl=None) -> dict:
        raise NotImplementedError


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def file_record(path: str | os.PathLike, url: str | None = None, **extra: Any) -> dict:
    """The manifest entry of one fetched or read file."""
    path = Path(path)
    record = {"path": str(path), "url": url, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    record.update(extra)
    return record


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """An exclusive advisory lock, so that concurrent jobs never fill one cache folder at once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class Counter(dict):
    """A dict of counts that only holds keys that were counted (stable, sorted on output)."""

    def add(self, key: str, n: int = 1) -> None:
        self[key] = self.get(key, 0) + n

    def sorted(self) -> dict:
        return {key: self[key] for key in sorted(self)}
