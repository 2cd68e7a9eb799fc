"""Tatoeba-style sentence retrieval: alignment measured directly, without fine-tuning.

Each side of the held-out pairs is encoded by the pre-trained encoder; a sentence vector is the
mean of one hidden layer's token vectors over the real tokens (special tokens and padding
excluded); candidates are ranked by cosine similarity; precision@1 is reported in both
directions (xx->en: a non-English query retrieves among the English sides, and en->xx).

Layer numbering follows ``output_hidden_states``: 0 is the embedding output, ``k`` the output of
transformer layer ``k``; negative numbers count from the top (-1 = last layer).
"""

from __future__ import annotations

import torch

from alignxfer import metrics as M
from alignxfer.io import read_jsonl, write_json
from alignxfer.tasks.base import iterate_eval_batches, pick_device, setup_threads
from alignxfer.words import segment


def load_pairs(pairs_path) -> list[dict]:
    pairs = []
    for lineno, record in enumerate(read_jsonl(pairs_path), 1):
        for key in ("en", "xx"):
            if not isinstance(record.get(key), str):
                raise ValueError(f"{pairs_path}:{lineno}: missing text {key!r}")
        pairs.append(record)
    if not pairs:
        raise ValueError(f"{pairs_path}: no sentence pairs")
    return pairs


def resolve_layer(layer: int, num_layers: int) -> int:
    """Index into ``hidden_states`` (length ``num_layers + 1``) for a possibly negative ``layer``."""
    index = layer if layer >= 0 else num_layers + 1 + layer
    if not 0 <= index <= num_layers:
        raise ValueError(f"layer {layer} is out of range for a model with {num_layers} layers (-{num_layers + 1}..{num_layers})")
    return index


def encode_sentences(model, tokenizer, texts: list[str], layer: int, max_length: int, batch_size: int = 64, device=None) -> torch.Tensor:
    """Mean-pooled, L2-normalised vectors of ``texts`` (rows in input order)."""
    device = device or pick_device()
    enc = tokenizer(
        [segment(t) for t in texts],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        return_special_tokens_mask=True,
    )
    features = [
        {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "_special": enc["special_tokens_mask"][i]}
        for i in range(len(texts))
    ]
    for f in features:  # a padded position counts as special (excluded); real tokens are 1
        f["pool_mask"] = [0 if s else 1 for s in f.pop("_special")]
    index = resolve_layer(layer, model.config.num_hidden_layers)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = torch.zeros(len(texts), model.config.hidden_size)
    model.eval()
    with torch.no_grad():
        for idx, batch in iterate_eval_batches(features, batch_size, pad_id, device):
            pool = batch.pop("pool_mask").float()
            # a text with no real token (empty) falls back to its special tokens
            empty = pool.sum(dim=1) == 0
            pool[empty] = batch["attention_mask"][empty].float()
            hidden = model(**batch, output_hidden_states=True).hidden_states[index].float()
            vectors = (hidden * pool.unsqueeze(-1)).sum(dim=1) / pool.sum(dim=1, keepdim=True)
            out[idx] = torch.nn.functional.normalize(vectors, dim=-1).cpu()
    return out


def evaluate_retrieval(
    model_dir,
    pairs_path,
    out_path,
    layer: int,
    max_length: int,
    meta: dict,
    threads: int | None = None,
    batch_size: int = 64,
) -> dict:
    """Precision@1 both ways on the pairs of ``pairs_path``; writes the retrieval metric JSON.

    A retrieved candidate whose text equals the gold candidate's text counts as correct
    (duplicate sentences in the held-out set are not errors).
    """
    from transformers import AutoModel, AutoTokenizer

    setup_threads(threads)
    pairs = load_pairs(pairs_path)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    device = pick_device()
    model.to(device)
    en = [p["en"] for p in pairs]
    xx = [p["xx"] for p in pairs]
    en_vec = encode_sentences(model, tokenizer, en, layer, max_length, batch_size, device)
    xx_vec = encode_sentences(model, tokenizer, xx, layer, max_length, batch_size, device)
    sim = (xx_vec @ en_vec.T).numpy()  # rows: xx queries, columns: en candidates
    result = {
        "task": "retrieval",
        "objective": None,
        "lang": None,
        **meta,
        "layer": int(layer),
        "max_length": int(max_length),
        "n": len(pairs),
        "metrics": {
            "p@1_xx_en": M.precision_at_1(sim, candidate_keys=en),
            "p@1_en_xx": M.precision_at_1(sim.T, candidate_keys=xx),
        },
        "pairs_file": str(pairs_path),
    }
    write_json(out_path, result)
    return result
