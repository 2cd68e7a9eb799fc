"""Fixture builder: a tiny BertForMaskedLM plus a WordPiece tokenizer in one save_pretrained folder.

No network: the tokenizer is built with the ``tokenizers`` library from a handful of words (plus
their characters, so unseen words split into known pieces), and wrapped so that
``AutoTokenizer.from_pretrained(folder)`` opens it. Usable by any test::

    from tests.tiny_model import make_tiny_bert
    folder = make_tiny_bert(tmp_path / "model", words=["hello", "world"])
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DEFAULT_WORDS = (
    "the a is and of to in it this that with for on package library tool files data "
    "cat dog horse bird fish red blue green yellow black apple bread cheese rice soup "
    "Katze Hund rouge bleu pomme pain"
).split()


def build_tokenizer(words: Iterable[str], lowercase: bool = False):
    """A fast WordPiece tokenizer over ``words`` (plus their characters), built like the workflow's own."""
    from alignxfer.tokenization import SPECIAL_TOKENS, build_wordpiece, wrap_fast

    words = list(dict.fromkeys(words))
    chars = sorted({c for w in words for c in w})
    vocab: dict[str, int] = {}
    for token in SPECIAL_TOKENS + words + chars + ["##" + c for c in chars]:
        vocab.setdefault(token, len(vocab))
    return wrap_fast(build_wordpiece(vocab=vocab, lowercase=lowercase))


def make_tiny_bert(
    path,
    words: Iterable[str] = DEFAULT_WORDS,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    intermediate_size: int = 64,
    max_position_embeddings: int = 64,
    vocab_size: int | None = None,
    seed: int = 0,
) -> Path:
    """Save a randomly initialised tiny ``BertForMaskedLM`` and its tokenizer into ``path``.

    ``vocab_size`` larger than the tokenizer's vocabulary pads the embedding matrix (to time a
    realistic vocabulary); by default it is the tokenizer's size.
    """
    import torch
    from transformers import BertConfig, BertForMaskedLM

    path = Path(path)
    tokenizer = build_tokenizer(words)
    config = BertConfig(
        vocab_size=max(vocab_size or 0, len(tokenizer)),
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = BertForMaskedLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
