"""A Hugging Face hub cache (``$HF_HOME/hub``) laid out as huggingface_hub writes it, for offline runs.

``cache_repo`` writes one repository revision the way a download would have left it::

    <hub>/datasets--facebook--xnli/blobs/<sha256 of the file>
    <hub>/datasets--facebook--xnli/snapshots/<commit>/en/test-00000-of-00001.parquet -> ../../../blobs/<sha>
    <hub>/datasets--facebook--xnli/refs/main                (the commit, for a branch revision)

The repository contents mirror the real ones (checked against their public file listings, see
``REAL_LAYOUTS``): XNLI keeps one parquet folder per config with ``{split}-00000-of-00001.parquet``
files named by its card's ``configs:``; SQuAD's config ``plain_text`` likewise; MLQA's main branch
holds only its loading script and card, its parquet export (branch ``refs/convert/parquet``)
``<config>/<split>/0000.parquet``. With ``HF_HUB_OFFLINE=1`` and ``HF_HOME`` pointing above
``hub``, huggingface_hub and transformers resolve these names without a network.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

#: what the real repositories hold (the file names this helper reproduces)
REAL_LAYOUTS = {
    "facebook/xnli": "README.md (configs: one per language, data_files <lang>/{train,validation,test}-00000-of-00001.parquet)",
    "rajpurkar/squad": "README.md (config plain_text: plain_text/{train,validation}-00000-of-00001.parquet)",
    "facebook/mlqa@main": "mlqa.py, README.md (a loading script: datasets >= 4 refuses it)",
    "facebook/mlqa@refs/convert/parquet": "<config>/<split>/0000.parquet, e.g. mlqa.de.de/test/0000.parquet",
    "google-bert/bert-base-multilingual-cased": "config.json, tokenizer.json, tokenizer_config.json, vocab.txt, model.safetensors",
}


def commit_of(repo_id: str, revision: str) -> str:
    """A stable 40-hex commit id for a fake repository revision."""
    return hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()


def cache_repo(
    hub: Path, repo_type: str, repo_id: str, files: dict, revision: str = "main", commit: str | None = None
) -> str:
    """Write ``files`` (``{path in repo: bytes or str}``) as one cached revision; returns its commit."""
    prefix = {"dataset": "datasets", "model": "models"}[repo_type]
    root = Path(hub) / f"{prefix}--{repo_id.replace('/', '--')}"
    commit = commit or commit_of(repo_id, revision)
    snapshot = root / "snapshots" / commit
    for rel, data in files.items():
        blob_data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        blob = root / "blobs" / hashlib.sha256(blob_data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            blob.write_bytes(blob_data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    if revision != commit:
        ref = root / "refs" / revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit)
    return commit


def parquet_bytes(rows: dict, features=None) -> bytes:
    """One parquet file of columns ``rows`` as datasets writes it (its features in the schema metadata)."""
    import datasets

    buffer = io.BytesIO()
    datasets.Dataset.from_dict(rows, features=features).to_parquet(buffer)
    return buffer.getvalue()


def card(configs: dict) -> str:
    """A dataset card whose YAML declares ``configs`` (``{name: {split: path pattern}}``)."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        for split, path in splits.items():
            lines += [f"  - split: {split}", f"    path: {path}"]
    return "\n".join(lines + ["---", "", "A stand-in card.", ""])


def xnli_repo(hub: Path, rows_by_lang: dict, revision: str = "main") -> str:
    """``facebook/xnli``: per language a folder with train/validation/test parquet; rows ``(premise, hypothesis, label)``."""
    import datasets

    from tests.helpers_tasks import XNLI_LABELS

    features = datasets.Features(
        {
            "premise": datasets.Value("string"),
            "hypothesis": datasets.Value("string"),
            "label": datasets.ClassLabel(names=XNLI_LABELS),
        }
    )
    files, configs = {}, {}
    for lang, rows in rows_by_lang.items():
        cols = {"premise": [r[0] for r in rows], "hypothesis": [r[1] for r in rows], "label": [r[2] for r in rows]}
        data = parquet_bytes(cols, features)
        configs[lang] = {}
        for split in ("train", "validation", "test"):
            files[f"{lang}/{split}-00000-of-00001.parquet"] = data
            configs[lang][split] = f"{lang}/{split}-*"
    files["README.md"] = card(configs)
    return cache_repo(hub, "dataset", "facebook/xnli", files, revision)


def squad_columns(rows: list[dict]) -> dict:
    return {key: [r[key] for r in rows] for key in ("id", "title", "context", "question", "answers")}


def squad_features():
    import datasets

    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "title": datasets.Value("string"),
            "context": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answers": {
                "text": datasets.Sequence(datasets.Value("string")),
                "answer_start": datasets.Sequence(datasets.Value("int32")),
            },
        }
    )


def squad_repo(hub: Path, rows: list[dict], revision: str = "main") -> str:
    """``rajpurkar/squad``: config ``plain_text`` with train and validation parquet files."""
    data = parquet_bytes(squad_columns(rows), squad_features())
    files = {f"plain_text/{split}-00000-of-00001.parquet": data for split in ("train", "validation")}
    files["README.md"] = card({"plain_text": {"train": "plain_text/train-*", "validation": "plain_text/validation-*"}})
    return cache_repo(hub, "dataset", "rajpurkar/squad", files, revision)


def mlqa_repos(hub: Path, rows_by_config: dict, parquet_revision: str = "refs/convert/parquet") -> str:
    """``facebook/mlqa``: main holds a loading script; the parquet export ``<config>/<split>/0000.parquet``.

    ``rows_by_config``: ``{config: {split: rows}}``, e.g. ``{"mlqa.de.de": {"test": [...], "validation": [...]}}``.
    Returns the export's commit."""
    cache_repo(
        hub, "dataset", "facebook/mlqa", {"mlqa.py": "# a datasets loading script\n", "README.md": "---\n---\nMLQA\n"}
    )
    files = {}
    for config, splits in rows_by_config.items():
        for split, rows in splits.items():
            files[f"{config}/{split}/0000.parquet"] = parquet_bytes(squad_columns(rows), squad_features())
    return cache_repo(hub, "dataset", "facebook/mlqa", files, parquet_revision)


def model_repo(hub: Path, repo_id: str, folder: Path, revision: str = "main") -> str:
    """A model repository holding every file of a ``save_pretrained`` folder."""
    folder = Path(folder)
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    return cache_repo(hub, "model", repo_id, files, revision)


#: the keys of google-bert/bert-base-multilingual-cased's config.json besides the sizes
MBERT_CONFIG_EXTRA = {
    "architectures": ["BertForMaskedLM"],
    "directionality": "bidi",
    "pooler_fc_size": 768,
    "pooler_num_attention_heads": 12,
    "pooler_num_fc_layers": 3,
    "pooler_size_per_head": 128,
    "pooler_type": "first_token_transform",
}


def mbert_stand_in(hub: Path, work: Path, words, revision: str = "main", **sizes) -> str:
    """A tiny BERT under mBERT's id with mBERT's files: config.json (its keys, a tiny width),
    model.safetensors, tokenizer.json, tokenizer_config.json (``{"do_lower_case": false}``, as
    mBERT's), vocab.txt. Returns the commit."""
    import json

    from tests.tiny_model import make_tiny_bert

    folder = make_tiny_bert(Path(work) / "mbert", words=words, **sizes)
    config = json.loads((folder / "config.json").read_text())
    config.update(MBERT_CONFIG_EXTRA, pooler_fc_size=config["hidden_size"])
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    vocab = sorted(tokenizer["model"]["vocab"].items(), key=lambda kv: kv[1])
    files = {
        "config.json": json.dumps(config, indent=2),
        "model.safetensors": (folder / "model.safetensors").read_bytes(),
        "tokenizer.json": (folder / "tokenizer.json").read_bytes(),
        "tokenizer_config.json": json.dumps({"do_lower_case": False}),
        "vocab.txt": "".join(token + "\n" for token, _ in vocab),
        "README.md": "---\nlanguage: multilingual\nlicense: apache-2.0\n---\nA tiny stand-in for mBERT.\n",
    }
    return cache_repo(hub, "model", "google-bert/bert-base-multilingual-cased", files, revision)
