"""Corpus sources: one plug-in interface (:class:`Source`) for every way of obtaining bitext.

``get_source(name, options)`` builds the source named by ``corpus.source`` with its options
(``config["corpus"][name]``). Sources write the download stage's files (docs/architecture.md):
``fetch_english`` -> ``en.jsonl`` (labelled English documents; ``ddtp`` only) and
``fetch_pair`` -> ``en-{lang}.jsonl``, each with a JSON manifest, which they also return.
"""

from __future__ import annotations

from alignxfer.sources.base import Source
from alignxfer.sources.ddtp import DdtpSource
from alignxfer.sources.local import LocalSource
from alignxfer.sources.url import UrlSource

SOURCES: dict[str, type[Source]] = {
    "ddtp": DdtpSource,
    "url": UrlSource,
    "local": LocalSource,
}


def get_source(name: str, options: dict | None = None) -> Source:
    """The source ``name`` configured with ``options`` (may be ``{}`` or ``None``)."""
    try:
        cls = SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown corpus source {name!r}; known sources: {', '.join(sorted(SOURCES))}") from None
    return cls(options or {})


__all__ = ["SOURCES", "Source", "get_source", "DdtpSource", "UrlSource", "LocalSource"]
