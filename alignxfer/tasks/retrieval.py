"""Tatoeba-style sentence retrieval: alignment measured directly, without fine-tuning.

Each side of the held-out pairs is encoded by the pre-trained encoder; a sentence vector is the
mean of one hidden layer's token vectors over the real tokens (special tokens and padding
excluded); candidates are ranked by cosine similarity; precision@1 is reported in both
directions (xx->en: a non-English query retrieves among the English sides, and en->xx).

Every layer is scored twice: on the raw vectors and *centred per language* (each language's mean
vector over the pool subtracted before normalising). Centring removes the constant offset that
makes an anisotropic space (every sentence of a language close to every other) rank badly
although its directions are aligned. Every language is scored on a candidate pool of the same
size (``pool_size``, sampled deterministically from the pairs), so precision@1 has the same
chance level (1 / pool_size) everywhere.

Layer numbering follows ``output_hidden_states``: 0 is the embedding output, ``k`` the output of
transformer layer ``k``; negative numbers count from the top (-1 = last layer).

The metric file keeps ``metrics.p@1_xx_en`` / ``p@1_en_xx`` (the configured layer, raw vectors)
and adds ``p@1_xx_en_centred`` / ``p@1_en_xx_centred`` (same layer, centred) and
``layers``: one entry per layer with raw and centred precision@1 both ways. Beside it,
``{lang}.predictions.jsonl`` holds one line per query pair (configured layer): ``id``, ``gold``,
``pred`` (the retrieved English candidate's id, xx->en, raw), ``correct`` and the same for
en->xx and the centred vectors, so arms can be compared pair by pair (McNemar,
:mod:`alignxfer.paired`).

:func:`string_match` is the model-free baseline: candidates ranked by the overlap of Latin-script
tokens and numbers (package names, versions, URLs survive translation verbatim).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import torch

from alignxfer.io import read_jsonl, write_json, write_jsonl
from alignxfer.tasks.base import iterate_eval_batches, pick_device, setup_threads
from alignxfer.words import segment


def load_pairs(pairs_path) -> list[dict]:
    """The pairs of a retrieval file, each with a unique ``id`` (``{doc_id}#{line number}``)."""
    pairs = []
    for lineno, record in enumerate(read_jsonl(pairs_path), 1):
        for key in ("en", "xx"):
            if not isinstance(record.get(key), str):
                raise ValueError(f"{pairs_path}:{lineno}: missing text {key!r}")
        pairs.append({**record, "id": f"{record.get('doc_id', '')}#{lineno}"})
    if not pairs:
        raise ValueError(f"{pairs_path}: no sentence pairs")
    return pairs


def pool_size_for(counts: dict, configured: int | None) -> int:
    """The candidate-pool size every language gets: ``configured`` (null: the smallest language's
    number of pairs). A language with fewer pairs than ``configured`` is an error, since a smaller
    pool would change the chance level of that language only."""
    if not counts:
        raise ValueError("no retrieval languages")
    smallest_lang = min(counts, key=lambda lang: (counts[lang], lang))
    smallest = counts[smallest_lang]
    if configured is None:
        return smallest
    if configured < 2:
        raise ValueError(f"tasks.retrieval.pool_size must be at least 2, got {configured}")
    if configured > smallest:
        raise ValueError(
            f"tasks.retrieval.pool_size is {configured} but language {smallest_lang!r} has only {smallest} "
            f"retrieval pairs: lower tasks.retrieval.pool_size to at most {smallest}, or set it to null "
            "(the smallest language's size)"
        )
    return configured


def sample_pool(pairs: list[dict], size: int, seed: int) -> list[dict]:
    """``size`` pairs chosen by a hash of (seed, id), kept in file order: the same pairs for every
    arm, independent of the order or number of the other pairs."""
    if size >= len(pairs):
        return list(pairs)

    def key(pair):
        return hashlib.sha256(f"{seed}\x00{pair['id']}".encode()).digest()

    chosen = {p["id"] for p in sorted(pairs, key=key)[:size]}
    return [p for p in pairs if p["id"] in chosen]


def resolve_layer(layer: int, num_layers: int) -> int:
    """Index into ``hidden_states`` (length ``num_layers + 1``) for a possibly negative ``layer``."""
    index = layer if layer >= 0 else num_layers + 1 + layer
    if not 0 <= index <= num_layers:
        raise ValueError(
            f"layer {layer} is out of range for a model with {num_layers} layers (-{num_layers + 1}..{num_layers})"
        )
    return index


def encode_layers(
    model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64, device=None
) -> torch.Tensor:
    """Mean-pooled (not normalised) vectors of ``texts`` at every layer: (layers + 1, texts, hidden)."""
    device = device or pick_device()
    enc = tokenizer(
        [segment(t) for t in texts],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        return_special_tokens_mask=True,
    )
    features = [
        {
            "input_ids": enc["input_ids"][i],
            "attention_mask": enc["attention_mask"][i],
            "_special": enc["special_tokens_mask"][i],
        }
        for i in range(len(texts))
    ]
    for f in features:  # a padded position counts as special (excluded); real tokens are 1
        f["pool_mask"] = [0 if s else 1 for s in f.pop("_special")]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = torch.zeros(model.config.num_hidden_layers + 1, len(texts), model.config.hidden_size)
    model.eval()
    with torch.no_grad():
        for idx, batch in iterate_eval_batches(features, batch_size, pad_id, device):
            pool = batch.pop("pool_mask").float()
            # a text with no real token (empty) falls back to its special tokens
            empty = pool.sum(dim=1) == 0
            pool[empty] = batch["attention_mask"][empty].float()
            hidden = torch.stack(model(**batch, output_hidden_states=True).hidden_states).float()
            vectors = (hidden * pool[None, :, :, None]).sum(dim=2) / pool.sum(dim=1)[None, :, None]
            out[:, idx] = vectors.cpu()
    return out


def encode_sentences(
    model, tokenizer, texts: list[str], layer: int, max_length: int, batch_size: int = 64, device=None
) -> torch.Tensor:
    """Mean-pooled, L2-normalised vectors of ``texts`` at one layer (rows in input order)."""
    index = resolve_layer(layer, model.config.num_hidden_layers)
    vectors = encode_layers(model, tokenizer, texts, max_length, batch_size, device)[index]
    return torch.nn.functional.normalize(vectors, dim=-1)


def retrieval_hits(similarity, candidate_keys) -> tuple[np.ndarray, np.ndarray]:
    """(retrieved column, hit) per query row of a (queries x candidates) matrix whose gold is the
    diagonal; a retrieved candidate with the gold candidate's key counts as a hit (duplicates).
    Ties go to the lowest column, as in :func:`alignxfer.metrics.precision_at_1`."""
    sim = np.asarray(similarity)
    best = sim.argmax(axis=1)
    hits = np.array([candidate_keys[b] == candidate_keys[g] for g, b in enumerate(best)], dtype=bool)
    return best, hits


def _both_ways(xx_vec: torch.Tensor, en_vec: torch.Tensor, en: list[str], xx: list[str], centre: bool) -> dict:
    if centre:
        xx_vec = xx_vec - xx_vec.mean(dim=0, keepdim=True)
        en_vec = en_vec - en_vec.mean(dim=0, keepdim=True)
    xx_vec = torch.nn.functional.normalize(xx_vec, dim=-1)
    en_vec = torch.nn.functional.normalize(en_vec, dim=-1)
    sim = (xx_vec @ en_vec.T).numpy()  # rows: xx queries, columns: en candidates
    best_xx_en, hits_xx_en = retrieval_hits(sim, en)
    best_en_xx, hits_en_xx = retrieval_hits(sim.T, xx)
    return {"xx_en": (best_xx_en, hits_xx_en), "en_xx": (best_en_xx, hits_en_xx)}


def score_vectors(en_layers: torch.Tensor, xx_layers: torch.Tensor, en: list[str], xx: list[str]) -> list[dict]:
    """Per layer, raw and centred: ``{"layer", "raw": {"xx_en": (best, hits), "en_xx": ...}, "centred": ...}``."""
    return [
        {
            "layer": k,
            "raw": _both_ways(xx_layers[k], en_layers[k], en, xx, centre=False),
            "centred": _both_ways(xx_layers[k], en_layers[k], en, xx, centre=True),
        }
        for k in range(en_layers.shape[0])
    ]


def _p(hits) -> float:
    return float(np.mean(hits))


def predictions_path_for(out_path) -> Path:
    out = Path(out_path)
    return out.with_name(
        out.name[: -len(".json")] + ".predictions.jsonl"
        if out.name.endswith(".json")
        else out.name + ".predictions.jsonl"
    )


def write_predictions(path, pool: list[dict], scored: dict) -> None:
    """One line per query pair: xx->en (raw) as ``pred``/``correct``, the rest as extra keys."""
    ids = [p["id"] for p in pool]
    suffixes = {
        ("raw", "xx_en"): "",
        ("raw", "en_xx"): "_en_xx",
        ("centred", "xx_en"): "_centred",
        ("centred", "en_xx"): "_en_xx_centred",
    }
    rows = []
    for i, pair_id in enumerate(ids):
        row = {"id": pair_id, "gold": pair_id}
        for (space, direction), suffix in suffixes.items():
            best, hits = scored[space][direction]
            row[f"pred{suffix}"] = ids[int(best[i])]
            row[f"correct{suffix}"] = bool(hits[i])
        rows.append(row)
    write_jsonl(path, rows)


def evaluate_retrieval(
    model_dir,
    pairs_path,
    out_path,
    layer: int,
    max_length: int,
    meta: dict,
    threads: int | None = None,
    batch_size: int = 64,
    pool_size: int | None = None,
    pool_seed: int = 0,
) -> dict:
    """Precision@1 both ways, every layer, raw and centred, on a pool of ``pool_size`` pairs of
    ``pairs_path`` (all of them if None); writes the metric JSON and its predictions file.

    A retrieved candidate whose text equals the gold candidate's text counts as correct
    (duplicate sentences in the held-out set are not errors).
    """
    from transformers import AutoModel, AutoTokenizer

    setup_threads(threads)
    pairs = load_pairs(pairs_path)
    n_pairs = len(pairs)
    pool = sample_pool(pairs, pool_size or n_pairs, pool_seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    device = pick_device()
    model.to(device)
    en = [p["en"] for p in pool]
    xx = [p["xx"] for p in pool]
    en_layers = encode_layers(model, tokenizer, en, max_length, batch_size, device)
    xx_layers = encode_layers(model, tokenizer, xx, max_length, batch_size, device)
    scored = score_vectors(en_layers, xx_layers, en, xx)
    chosen = scored[resolve_layer(layer, model.config.num_hidden_layers)]
    layers = [
        {
            "layer": s["layer"],
            **{
                f"p@1_{direction}{'' if space == 'raw' else '_centred'}": _p(s[space][direction][1])
                for space in ("raw", "centred")
                for direction in ("xx_en", "en_xx")
            },
        }
        for s in scored
    ]
    result = {
        "task": "retrieval",
        "objective": None,
        "lang": None,
        **meta,
        "layer": int(layer),
        "layer_index": int(chosen["layer"]),
        "max_length": int(max_length),
        "n": len(pool),
        "pool_size": len(pool),
        "n_pairs_available": n_pairs,
        "chance": 1.0 / len(pool),
        "metrics": {
            "p@1_xx_en": _p(chosen["raw"]["xx_en"][1]),
            "p@1_en_xx": _p(chosen["raw"]["en_xx"][1]),
            "p@1_xx_en_centred": _p(chosen["centred"]["xx_en"][1]),
            "p@1_en_xx_centred": _p(chosen["centred"]["en_xx"][1]),
        },
        "layers": layers,
        "best_layer": {
            space: max(layers, key=lambda r: (r[f"p@1_xx_en{'' if space == 'raw' else '_centred'}"], -r["layer"]))[
                "layer"
            ]
            for space in ("raw", "centred")
        },
        "pairs_file": str(pairs_path),
        "predictions_file": str(predictions_path_for(out_path)),
    }
    write_predictions(predictions_path_for(out_path), pool, {"raw": chosen["raw"], "centred": chosen["centred"]})
    write_json(out_path, result)
    return result


# --------------------------------------------------------------------------- string-match baseline

#: a Latin-script token or number: letters of the Latin blocks and digits, joined by . _ + - inside
#: (``libfoo-dev``, ``python3.11``, ``2.0``); CJK, Cyrillic and other scripts never match
LATIN_TOKEN = re.compile(r"[0-9A-Za-z\u00C0-\u024F]+(?:[._+\-][0-9A-Za-z\u00C0-\u024F]+)*")


def latin_tokens(text: str) -> set[str]:
    return {t.lower() for t in LATIN_TOKEN.findall(text)}


def overlap_similarity(queries: list[str], candidates: list[str]) -> np.ndarray:
    """(queries x candidates) overlap of Latin-script token sets, normalised as the cosine of the
    sets (|A ∩ B| / sqrt(|A| |B|), 0 when either is empty)."""
    q_sets = [latin_tokens(t) for t in queries]
    c_sets = [latin_tokens(t) for t in candidates]
    sim = np.zeros((len(q_sets), len(c_sets)))
    for i, a in enumerate(q_sets):
        if not a:
            continue
        for j, b in enumerate(c_sets):
            if b:
                shared = len(a & b)
                if shared:
                    sim[i, j] = shared / math.sqrt(len(a) * len(b))
    return sim


def string_match(pairs_path, out_path, lang: str, pool_size: int | None = None, pool_seed: int = 0) -> dict:
    """The model-free retrieval baseline on the same pool as the arms; writes the metric JSON
    ``{"task": "retrieval", "baseline": "string_match", "lang", "n", "pool_size", "metrics"}`` and
    its predictions file."""
    pairs = load_pairs(pairs_path)
    pool = sample_pool(pairs, pool_size or len(pairs), pool_seed)
    en = [p["en"] for p in pool]
    xx = [p["xx"] for p in pool]
    sim = overlap_similarity(xx, en)
    scored = {
        "raw": {"xx_en": retrieval_hits(sim, en), "en_xx": retrieval_hits(sim.T, xx)},
    }
    scored["centred"] = scored["raw"]  # nothing to centre: the same predictions under both names
    result = {
        "task": "retrieval",
        "setting": "no_finetuning",
        "baseline": "string_match",
        "objective": None,
        "lang": lang,
        "n": len(pool),
        "pool_size": len(pool),
        "n_pairs_available": len(pairs),
        "chance": 1.0 / len(pool),
        "metrics": {"p@1_xx_en": _p(scored["raw"]["xx_en"][1]), "p@1_en_xx": _p(scored["raw"]["en_xx"][1])},
        "pairs_without_latin_token": int(sum(1 for t in xx if not latin_tokens(t))),
        "pairs_file": str(pairs_path),
        "predictions_file": str(predictions_path_for(out_path)),
    }
    write_predictions(predictions_path_for(out_path), pool, scored)
    write_json(out_path, result)
    return result
