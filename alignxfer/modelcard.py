"""Model cards: a ``README.md`` in every model folder the workflow saves.

A card says what a researcher opening the folder needs without this package: which model it
started from, the objective and data it was trained with, the labels (fine-tuned models), the
metrics at saving time, and how to load it (``AutoModel*`` / ``pipeline``; the tokenizer carries
the workflow's word segmentation, see :func:`alignxfer.tokenization.make_standalone`).
The YAML front matter follows the Hugging Face hub's model-card metadata (``library_name``,
``pipeline_tag``, ``license``, ``tags``) plus ``alignxfer`` fields (``stage``, ``objective``,
``base_model``) that :func:`read_card` returns, so a fine-tuned model's card can name the
pre-training objective of the model it started from.
"""

from __future__ import annotations

import json
from pathlib import Path

CARD = "README.md"


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: dict) -> list[str]:
    lines = ["| | |", "|---|---|"]
    for key, value in rows.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        lines.append(f"| {key} | {_number(value)} |")
    return lines


def read_card(folder) -> dict:
    """The front matter of ``folder/README.md`` ({} when there is none or it does not parse)."""
    import yaml

    path = Path(folder) / CARD
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    if not text.startswith("---\n"):
        return {}
    try:
        meta = yaml.safe_load(text[4:].split("\n---\n", 1)[0])
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _usage(kind: str, max_length) -> list[str]:
    if kind == "classifier":
        return [
            "```python",
            "from transformers import pipeline",
            "",
            'classify = pipeline("text-classification", model="PATH/TO/THIS/FOLDER")',
            'classify("raw text in any language", truncation=True)  # truncation: cut at model_max_length,',
            "                                                       # as the workflow did",
            "```",
            "",
            f"`truncation=True` cuts inputs at {max_length} tokens (`model_max_length`, the fine-tuning "
            "length), as the workflow's evaluation did; without it a longer input fails on the position embeddings.",
        ]
    return [
        "```python",
        "from transformers import AutoModelForMaskedLM, AutoTokenizer",
        "",
        'tokenizer = AutoTokenizer.from_pretrained("PATH/TO/THIS/FOLDER")',
        'model = AutoModelForMaskedLM.from_pretrained("PATH/TO/THIS/FOLDER")',
        "```",
    ]


def render(facts: dict) -> str:
    """The card's text from ``facts`` (see :func:`write_model_card`)."""
    import yaml

    kind = facts.get("kind", "masked_lm")
    meta = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification" if kind == "classifier" else "fill-mask",
        "license": "mit",
        "tags": ["alignxfer", kind],
        "stage": facts.get("stage"),
        "objective": facts.get("objective"),
        "base_model": facts.get("base_model"),
    }
    if facts.get("languages"):
        meta["language"] = list(facts["languages"])
    meta = {k: v for k, v in meta.items() if v is not None}
    title = facts.get("title") or f"alignxfer {kind}"
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "", f"# {title}", ""]
    if facts.get("summary_text"):
        lines += [facts["summary_text"], ""]
    lines += ["## Base", "", facts.get("base_text") or f"`{facts.get('base_model', 'trained from scratch')}`", ""]
    lines += ["## Objective", "", facts.get("objective_text") or f"`{facts.get('objective')}`", ""]
    if facts.get("training"):
        lines += ["Training settings:", "", *_table(facts["training"]), ""]
    lines += ["## Data", "", facts.get("data_text") or "-", ""]
    if facts.get("labels"):
        lines += ["## Labels", "", "Class id: label (training examples)", ""]
        counts = facts.get("label_counts") or {}
        for i, label in enumerate(facts["labels"]):
            count = f" ({counts[label]})" if label in counts else ""
            lines.append(f"{i}. `{label}`{count}")
        lines.append("")
    if facts.get("metrics"):
        lines += ["## Metrics", "", facts.get("metrics_text") or "", "", *_table(facts["metrics"]), ""]
    lines += [
        "## Tokenizer",
        "",
        "The tokenizer (`tokenizer.json`) splits raw text as the workflow's `alignxfer.words.segment` did "
        "before tokenizing (punctuation and symbols, CJK ideographs and kana as words of their own), "
        "so `AutoTokenizer` and `pipeline` give the workflow's token ids with nothing from alignxfer installed."
        if facts.get("standalone_tokenizer", True)
        else "This tokenizer has no BERT-style pre-tokenizer, so the workflow's segmentation could not be "
        "written into it: split the text with `alignxfer.words.segment` and call the tokenizer with "
        "`is_split_into_words=True` to reproduce the workflow's inputs.",
        "",
        "## Usage",
        "",
        *_usage(kind, facts.get("max_length")),
        "",
        "Written by the alignxfer workflow (MIT licence).",
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder, facts: dict) -> Path:
    """Write ``folder/README.md`` from ``facts``: ``kind`` (``masked_lm``/``classifier``),
    ``title``, ``stage``, ``objective``, ``base_model``, ``languages``, ``training`` (dict),
    ``labels`` / ``label_counts``, ``metrics`` (dict), free texts ``summary_text``,
    ``base_text``, ``objective_text``, ``data_text``, ``metrics_text``, ``max_length``,
    ``standalone_tokenizer``. Call it inside the folder's ``atomic_dir``."""
    path = Path(folder) / CARD
    path.write_text(render(facts), encoding="utf-8")
    return path


def scalars(values: dict) -> dict:
    """The numeric / short string entries of ``values`` (for a card's tables)."""
    out = {}
    for key, value in (values or {}).items():
        if isinstance(value, bool) or isinstance(value, (int, float, str)):
            out[key] = value
    return out


def pretraining_card(settings: dict, training: dict, summary: dict, seed: int, base_dir=None) -> dict:
    """Facts of a pre-trained model (``pretrain_base`` or one arm of ``continue_pretraining``)."""
    stage = settings.get("stage", "base")
    objective = settings.get("objective", stage)
    languages = settings.get("languages")
    if stage == "base":
        base_text = (
            f"Trained from scratch (architecture: `{json.dumps(settings.get('architecture'), sort_keys=True)}`)."
        )
        title = "alignxfer base model (the study's multilingual BERT)"
    else:
        base_text = f"Continued from the base model in `{base_dir}` (see its README.md)."
        title = f"alignxfer arm `{stage}`: continued pre-training with `{stage}`"
    data_text = (
        "The pre-training pool of the parallel corpus (English paired with "
        + (", ".join(languages) if languages else "every pre-training language")
        + "), tokenized by the workflow; no train/dev/test document of the tasks reaches it."
    )
    return {
        "kind": "masked_lm",
        "title": title,
        "stage": stage,
        "objective": objective,
        "base_model": str(base_dir) if base_dir else None,
        "languages": ["en", *languages] if languages else None,
        "base_text": base_text,
        "objective_text": f"`{objective}` (alignxfer.objectives), seed {seed}, max length {settings.get('max_length')} tokens.",
        "training": scalars(training),
        "data_text": data_text,
        "metrics": scalars({k: v for k, v in summary.items() if k != "objective"}),
        "metrics_text": "At the end of training (losses of the last logged step):",
    }


def finetuning_card(info: dict) -> dict:
    """Facts of a fine-tuned classifier from its ``finetune_info.json`` contents (``info``)."""
    source = info.get("source_model")
    source_meta = read_card(source) if source else {}
    objective = source_meta.get("stage") or source_meta.get("objective")
    hp = info.get("hparams") or {}
    task = info.get("task", "?")
    labels = info.get("labels") or []
    dev = info.get("dev") or {}
    return {
        "kind": "classifier",
        "title": f"alignxfer {task} classifier, fine-tuned from arm `{objective or source}` (seed {info.get('seed')})",
        "stage": "finetuned",
        "objective": objective,
        "base_model": str(source) if source else None,
        "base_text": f"The pre-trained model in `{source}` (arm `{objective}`; see its README.md).",
        "objective_text": (
            f"Sequence classification (cross-entropy) on `{task}`, seed {info.get('seed')}; the epoch with the best "
            f"dev score was kept (epoch {info.get('best_epoch')})."
        ),
        "training": scalars(hp),
        "data_text": (
            f"{info.get('n_train')} training and {info.get('n_dev')} dev examples of task `{task}` (the training "
            f"language's; zero-shot: English). Majority class of the training data: `{info.get('majority_label')}`. "
            "Test scores per language: `results/metrics/<task>/<setting>/<arm>/<lang>/seed<seed>.json`."
        ),
        "labels": labels,
        "label_counts": info.get("train_label_counts") or {},
        "metrics": scalars(dev),
        "metrics_text": "Dev metrics of the selected epoch (fractions):",
        "max_length": hp.get("max_length"),
    }
