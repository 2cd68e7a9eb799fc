"""Write docs/parameters.md, the reference of every config key, from schemas/config.schema.yaml.

    python scripts/make_parameter_docs.py            # rewrite docs/parameters.md
    python scripts/make_parameter_docs.py --check    # exit 1 if it is out of date (tests do this)

Type, default, allowed values and bounds come from the schema itself. The text of a key is, in
order: its ``description`` in the schema, the schema's comment on or above its line, or
:data:`DESCRIPTIONS` below (by full path, then by the key's last name). A key without any text
is an error: a new key needs a sentence here or in the schema.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "config.schema.yaml"
OUT = REPO / "docs" / "parameters.md"

#: text of keys the schema does not describe (full path first, then a key's last component)
DESCRIPTIONS = {
    "study": "Name of the study: the MLflow experiment (unless `tracking.experiment`) and a label in tables.",
    "seed": "Seed of everything that is not a fine-tuning seed: document split hashing, tokenizer, base model and arms.",
    "threads": "Torch/BLAS threads of every model job, whatever `--cores` allots (results depend on the thread count, not on `--cores`).",
    "corpus": "The parallel corpus: where it comes from and which languages.",
    "corpus.source": "`ddtp` (Debian's package-description translations via apt), `url` (archives by URL with sha256) or `local` (files on disk).",
    "corpus.languages": "Pre-training languages, each paired with English; also test languages.",
    "corpus.eval_languages": "Evaluation-only languages (tested and translate-trained, never pre-trained on).",
    "corpus.ddtp": "Where `ddtp` fetches the translations from.",
    "corpus.ddtp.mirror": "Debian mirror URL (`file://` for a local mirror).",
    "corpus.ddtp.suite": "Debian suite (release) whose translations are read.",
    "corpus.ddtp.component": "Archive component (`main`, ...).",
    "corpus.ddtp.architecture": "Architecture of the `Packages` index that gives each package's section (the topic label).",
    "corpus.url": "Bitext archives by URL (`corpus.source: url`).",
    "corpus.url.pairs": "Per language: `format` (`tsv` or `moses`), `url`/`path`, `sha256`, `member`, or per-side `en`/`xx` files.",
    "corpus.local": "Bitext files on disk (`corpus.source: local`).",
    "corpus.local.pairs": "Per language: `format` and `path` (or per-side `en`/`xx`), as for `corpus.url.pairs`.",
    "prepare": "Cleaning, document split and pool sizes.",
    "prepare.min_words": "Drop a sentence pair when a side has fewer words.",
    "prepare.max_words": "Drop a sentence pair when a side has more words.",
    "prepare.max_length_ratio": "Drop a pair whose sides' word counts differ by more than this factor.",
    "prepare.invalid_utf8": "Bytes that are not UTF-8: `error` (stop, naming file and line) or `replace` (U+FFFD).",
    "prepare.split": "Fractions of documents (by a hash of the document id) for the task pools; the rest is pre-training text.",
    "prepare.split.test": "Fraction of documents reserved for test sets.",
    "prepare.split.dev": "Fraction of documents reserved for dev sets.",
    "prepare.split.train": "Fraction of documents reserved for task training.",
    "prepare.max_pretrain_pairs": "At most this many pre-training sentence pairs per language.",
    "prepare.max_train_docs": "At most this many English training documents.",
    "prepare.max_translate_train_docs": "At most this many translate-train documents per language.",
    "prepare.max_dev_docs": "At most this many dev documents.",
    "prepare.max_test_docs": "At most this many test documents per language.",
    "prepare.max_retrieval_pairs": "Sentence pairs per language in the retrieval test.",
    "tokenizer": "The subword vocabulary.",
    "tokenizer.source": "`train` a WordPiece vocabulary on the pre-training text, or use the `pretrained` base model's tokenizer.",
    "tokenizer.vocab_size": "WordPiece vocabulary size (`tokenizer.source: train`).",
    "tokenizer.lowercase": "Lowercase text before tokenizing.",
    "alignment": "Word alignment with FastAlign (sil-thot's port).",
    "alignment.enabled": "Word-align the bitext; the objectives `weam` and `word_aligned` need it.",
    "alignment.iterations": "EM iterations per direction.",
    "alignment.p0": "Probability of aligning a word to NULL.",
    "alignment.favor_diagonal": "FastAlign's diagonal prior (false: IBM Model 1).",
    "alignment.diagonal_tension": "Strength of the diagonal prior; fixed by the port at fast_align's default 4.0.",
    "alignment.variational_bayes": "Variational Bayes (sparse prior) instead of maximum likelihood.",
    "alignment.prior_alpha": "Dirichlet prior of variational Bayes; fixed by the port at fast_align's default 0.01.",
    "alignment.symmetrization": "How the two directions are combined.",
    "base": "The base model (the study's mBERT) every arm continues from.",
    "base.source": "`scratch`: trained by the workflow; `pretrained`: `base.name` from the hub or a folder.",
    "base.name": "Hugging Face model id or folder of the pretrained base (`base.source: pretrained`).",
    "base.architecture": "BERT architecture of a scratch base.",
    "base.architecture.hidden_size": "Hidden size.",
    "base.architecture.num_hidden_layers": "Transformer layers.",
    "base.architecture.num_attention_heads": "Attention heads (must divide `hidden_size`).",
    "base.architecture.intermediate_size": "Feed-forward size.",
    "base.architecture.max_position_embeddings": "Longest input in tokens (the saved tokenizers' `model_max_length`).",
    "base.training": "Training of a scratch base.",
    "base.training.contrastive": "Options of the translation-ranking loss with `objective: contrastive`.",
    "pretraining": "Continued pre-training: one arm per objective, all under the same budget.",
    "pretraining.objectives": "Arms of the study (`base` = no continued pre-training).",
    "pretraining.budget": "The budget every arm shares (same steps x batch x length).",
    "pretraining.bf16": "bf16 autocast: `auto` where the hardware runs it natively (CUDA bf16, CPU AVX-512 BF16/AMX), or true/false.",
    "pretraining.checkpoint_every": "Save a resumable checkpoint every this many steps (0: never).",
    "pretraining.mlm": "Options of the MLM control arm.",
    "pretraining.tlm": "Options of translation language modelling (XLM).",
    "pretraining.tlm.reset_positions": "Position ids restart at the second sentence (XLM); false: one running sequence.",
    "pretraining.weam": "Options of WEAM (word-exchange alignment modelling).",
    "pretraining.weam.lambda": "Weight of the cross-lingual prediction loss: L = L_MP + lambda * L_CP.",
    "pretraining.weam.swap_layer": "Hidden layer whose aligned representations are exchanged (0 = embeddings, -1 = last).",
    "pretraining.weam.subword_mapping": "Word links to subwords: `first` subword of each word, or `all` subword pairs.",
    "pretraining.word_aligned": "Options of word-aligned pre-training (Cao et al. 2020).",
    "pretraining.word_aligned.anchor_weight": "Weight of the anchor loss that keeps English representations near the base model's.",
    "pretraining.contrastive": "Options of the contrastive (translation ranking + MLM) arm.",
    "finetuning": "Fine-tuning shared by every arm and task.",
    "finetuning.seeds": "Fine-tuning seeds (classifier initialisation, dropout, batch order); every table averages over them.",
    "finetuning.bf16": "bf16 autocast of fine-tuning (as `pretraining.bf16`).",
    "tasks": "Downstream tasks.",
    "tasks.topic": "Topic classification of Debian package descriptions (the default study's task).",
    "tasks.xnli": "XNLI natural language inference (paper scale; off by default).",
    "tasks.mlqa": "MLQA extractive question answering (paper scale; off by default).",
    "tasks.xnli.languages": "Test languages besides English.",
    "tasks.mlqa.languages": "Test languages besides English (MLQA's).",
    "tasks.mlqa.max_query_length": "Questions are cut to this many tokens.",
    "tasks.mlqa.max_answer_length": "Longest predicted answer span, in tokens.",
    "tasks.mlqa.n_best": "Start/end candidates considered per window.",
    "tasks.retrieval": "Sentence retrieval (Tatoeba-style, xx->en, no fine-tuning).",
    "tasks.retrieval.layer": "Hidden layer whose mean-pooled vectors are compared (-1 = last).",
    "tasks.retrieval.max_length": "Sentences are cut to this many tokens.",
    "tracking": "MLflow tracking (never a reason for a job to fail).",
    "tracking.uri": "MLflow tracking URI (default: `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db` in the project).",
    "tracking.experiment": "MLflow experiment name (default: `study`).",
    # by last component
    "enabled": "Run this part of the study.",
    "settings": "`zero_shot` (train on English, test every language) and/or `translate_train` (train on each language's translations).",
    "steps": "Optimizer steps.",
    "batch_size": "Examples per forward pass (pre-training: sentences or pairs; per GPU with several GPUs).",
    "max_length": "Inputs are cut to this many tokens ([CLS]/[SEP] included).",
    "learning_rate": "Peak learning rate (AdamW; linear warmup, then linear decay to 0).",
    "warmup_ratio": "Fraction of the steps spent warming the learning rate up.",
    "weight_decay": "AdamW weight decay (not on biases and LayerNorm).",
    "gradient_accumulation": "Forward passes per optimizer step (a multiple of the GPUs with several GPUs).",
    "max_grad_norm": "Gradients are clipped to this global norm.",
    "mask_prob": "Fraction of tokens masked (BERT's 80/10/10 replacement).",
    "epochs": "Passes over the training data; the epoch with the best dev score is kept.",
    "margin": "Additive margin of the translation-ranking softmax.",
    "scale": "Scale (inverse temperature) of the cosine similarities.",
    "pooling": "Sentence vector: `mean` of the last layer, or `cls`.",
    "mlm_weight": "Weight of the MLM loss next to the ranking loss.",
    "max_train_examples": "Use at most this many training examples (null: all).",
    "train": "Source of the English training data (hub dataset, `save_to_disk` folder or SQuAD JSON).",
    "dev": "Source of the English dev data.",
    "test": "Source of each language's test data (`{lang}` is replaced).",
    "translate_train": "Source of each language's translate-train training data.",
    "translate_dev": "Source of each language's translate-train dev data.",
    "dataset": "Hugging Face dataset id, a `save_to_disk` folder, or (QA) a SQuAD-format JSON file.",
    "config": "Dataset configuration (`{lang}` is replaced by the language code).",
    "split": "Dataset split.",
    "revision": "Dataset revision (pin it for a reproducible study).",
    "alignment.quality": "The alignment-quality stage: AER, precision and recall against gold alignments (`enabled`, `segmentations`: gold tokens and/or the workflow's segmentation).",
    "pretraining.seeds": "Pre-training seeds: each arm is pre-trained once per seed (the unit of replication); fine-tuning seed i continues the arm of pre-training seed i mod n. null: the study's `seed` only.",
    "pretraining.heldout": "The split of the pre-training bitext by a hash of each pair's English side: a held-out part for the treatment checks, an arms-only part the base never sees, the rest for the base.",
    "pretraining.heldout.fraction": "Share of pairs held out for the treatment checks (never trained on).",
    "pretraining.heldout.arm_fraction": "Share of pairs only the arms train on (the base never sees them).",
    "tasks.topic.probe": "The frozen-feature linear probe (setting `probe`): mean-pooled features of one layer, logistic regression on English train.",
    "tasks.topic.probe.max_iter": "L-BFGS iterations of the probe's logistic regression.",
    "pretraining.heldout.max_pairs": "Held-out pairs scored by each treatment check.",
}
for _task in ("xnli", "mlqa"):
    for _part in ("train", "dev", "test", "translate_train", "translate_dev"):
        DESCRIPTIONS[f"tasks.{_task}.{_part}.data_dir"] = (
            "A folder of the hub repository to read (e.g. MLQA's parquet export `mlqa.de.de`); not with `config`."
        )

_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_$][\w$-]*):(?P<rest>.*)$")


def schema_comments(text: str) -> dict[str, str]:
    """{dotted config path: comment} from the schema's YAML comments (above or after a key's line)."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (indent, key) of the open mappings
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        match = _KEY_LINE.match(line)
        if not match:
            if not stripped:
                pending = []
            continue
        indent, key, rest = len(match["indent"]), match["key"], match["rest"]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        unquoted = re.sub(r"\"[^\"]*\"|'[^']*'", "", rest)
        trailing = unquoted.split("#", 1)[1].strip() if "#" in unquoted else ""
        names = [k for _, k in stack]
        if names[0] == "properties":  # config keys are the names right under "properties:"
            path = [n for i, n in enumerate(names) if i % 2 == 1]
            if len(names) % 2 == 0 and path:
                text_ = " ".join(pending + ([trailing] if trailing else [])).strip()
                if text_:
                    comments[".".join(path)] = text_
        pending = []
    return comments


def _resolve(node: dict, definitions: dict) -> dict:
    if "$ref" in node:
        target = dict(definitions[node["$ref"].split("/")[-1]])
        target.update({k: v for k, v in node.items() if k != "$ref"})
        return target
    return node


def _type(node: dict, definitions: dict | None = None) -> str:
    if "oneOf" in node:
        parts = []
        for option in node["oneOf"]:
            parts.append(" or ".join(f"`{v}`" for v in option["enum"]) if "enum" in option else option.get("type", "?"))
        return " or ".join(parts)
    kind = node.get("type", "object" if "properties" in node else "?")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and "items" in node:
        return f"list of {_type(_resolve(node['items'], definitions or {}), definitions)}"
    return kind


def _allowed(node: dict, definitions: dict) -> str:
    parts = []
    items = _resolve(node.get("items", {}), definitions) if node.get("type") == "array" else {}
    enum = node.get("enum") or items.get("enum")
    if enum and len(enum) > 20:
        parts.append(f"{len(enum)} language codes (`definitions.lang` of the schema)")
    elif enum:
        parts.append(", ".join(f"`{v}`" for v in enum))
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in node:
            parts.append(f"{sign} {node[key]}")
    if node.get("minItems"):
        parts.append(f"at least {node['minItems']} item(s)")
    if node.get("pattern"):
        parts.append(f"matches `{node['pattern']}`")
    if "propertyNames" in node:
        parts.append("keys: language codes")
    return "; ".join(parts)


def _default(node: dict) -> str:
    if "default" not in node:
        return ""
    value = node["default"]
    if isinstance(value, dict) and not value and "properties" in node:
        return ""  # a section: its keys' defaults are listed
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def entries(schema: dict, comments: dict) -> list[dict]:
    definitions = schema.get("definitions", {})
    out = []

    def walk(node: dict, path: list[str]) -> None:
        for key, sub in (node.get("properties") or {}).items():
            sub = _resolve(sub, definitions)
            dotted = ".".join(path + [key])
            text = sub.get("description") or comments.get(dotted) or DESCRIPTIONS.get(dotted) or DESCRIPTIONS.get(key)
            out.append(
                {
                    "key": dotted,
                    "type": _type(sub, definitions),
                    "default": _default(sub),
                    "allowed": _allowed(sub, definitions),
                    "description": " ".join(str(text).split()) if text else "",
                    "section": "properties" in sub,
                }
            )
            walk(sub, path + [key])

    walk(schema, [])
    return out


HEADER = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]


def _row(row: dict) -> str:
    if row["section"]:
        return f"| **`{row['key']}`** | section | | | {row['description']} |"
    cells = [f"`{row['key']}`", row["type"], row["default"], row["allowed"], row["description"]]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render(rows: list[dict]) -> str:
    lines = [
        "# Configuration reference",
        "",
        "Every key of a study's configuration (`config.yaml`, `configs/*.yaml`, or any `--configfile` overlay),",
        "generated from [`schemas/config.schema.yaml`](../schemas/config.schema.yaml) by",
        "`python scripts/make_parameter_docs.py` (tests/test_parameter_docs.py fails when this file is out of date).",
        "The schema validates every key before any job runs and fills in the defaults below; an unknown key is an error.",
        "",
        "## Top level",
        "",
        *HEADER,
    ]
    lines += [_row(r) for r in rows if "." not in r["key"] and not r["section"]]
    for section in (r for r in rows if "." not in r["key"] and r["section"]):
        lines += ["", f"## `{section['key']}`", "", section["description"], "", *HEADER]
        lines += [_row(r) for r in rows if r["key"].startswith(section["key"] + ".")]
    return "\n".join(lines) + "\n"


def build() -> tuple[str, list[str]]:
    text = SCHEMA.read_text(encoding="utf-8")
    rows = entries(yaml.safe_load(text), schema_comments(text))
    missing = [r["key"] for r in rows if not r["description"]]
    return render(rows), missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/parameters.md is out of date")
    args = parser.parse_args(argv)
    text, missing = build()
    if missing:
        print(
            f"{SCHEMA}: no description for {missing}; add `description:` in the schema or an entry in "
            f"DESCRIPTIONS of {Path(__file__).name}",
            file=sys.stderr,
        )
        return 1
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python scripts/make_parameter_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
