"""A trained model with its tokenizer, card and side files, saved atomically into one folder."""

from __future__ import annotations

from pathlib import Path


def save_model(
    model, tokenizer, out_dir, *, max_length: int | None, card: dict | None = None, json_files: dict | None = None
) -> None:
    """``save_pretrained`` model and tokenizer into ``out_dir`` (atomic: a complete folder or none).

    The tokenizer gets the workflow's segmentation and ``model_max_length = max_length``
    (:func:`alignxfer.tokenization.make_standalone`); ``card``: the model card's fields
    (:mod:`alignxfer.modelcard`); ``json_files``: ``{file name: JSON-able}`` written beside them.
    """
    from alignxfer.io import atomic_dir, write_json
    from alignxfer.modelcard import write_model_card
    from alignxfer.tokenization import is_standalone, make_standalone

    model.eval()
    make_standalone(tokenizer, max_length)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name, content in (json_files or {}).items():
            write_json(Path(tmp) / name, content)
        write_model_card(tmp, {**(card or {}), "standalone_tokenizer": is_standalone(tokenizer)})
