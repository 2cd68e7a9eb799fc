"""English training data matched to a translate-train set (claim 6: zero-shot vs translate-train).

Zero-shot fine-tunes on up to ``max_train_docs`` English documents, translate-train on the
translations of at most ``max_translate_train_docs`` of them: compared as they are, the two
settings differ in the number of training documents as well as in the training language. The
``zero_shot_matched`` setting removes that difference: for each language it fine-tunes on the
*English originals* of exactly the documents translate-train trains (and selects) on, in the
same order, with the same hyperparameters and stopping rule, and tests on that language. Then
zero_shot_matched vs translate_train differ only in the training language.
"""

from __future__ import annotations

from alignxfer.io import read_jsonl, write_jsonl


def matched_english(english_path, translated_path, out_path) -> dict:
    """Write the English records of ``english_path`` whose ``doc_id`` is in ``translated_path``,
    in the order of ``translated_path``. Every translated document needs its English original."""
    english = {}
    for lineno, record in enumerate(read_jsonl(english_path), 1):
        if "doc_id" not in record:
            raise ValueError(f"{english_path}:{lineno}: missing key 'doc_id'")
        english[str(record["doc_id"])] = record
    out, missing = [], []
    for record in read_jsonl(translated_path):
        doc_id = str(record["doc_id"])
        if doc_id in english:
            out.append(english[doc_id])
        else:
            missing.append(doc_id)
    if missing:
        raise ValueError(
            f"{translated_path}: {len(missing)} document(s) have no English original in {english_path} "
            f"(e.g. {missing[:3]}); the matched comparison needs the same documents in both languages"
        )
    if not out:
        raise ValueError(f"{translated_path}: no documents")
    write_jsonl(out_path, out)
    return {"docs": len(out), "english_available": len(english)}
