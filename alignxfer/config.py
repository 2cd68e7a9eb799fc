"""Configuration: JSON-schema validation with defaults, plus the checks a schema cannot express.

Every error names the key's path (``corpus.languages[2]``) and what is allowed, and all errors
are reported at once, before any job runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from alignxfer import registry

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


def alignment_objectives() -> tuple[str, ...]:
    """Registered objectives whose loss reads word alignments (alignxfer.registry)."""
    registry.builtins()
    return tuple(name for name, spec in registry.OBJECTIVES.items() if spec.needs_alignment)


def dataset_tasks() -> tuple[str, ...]:
    """Registered tasks whose data come from Hugging Face datasets or local copies (config
    ``tasks.<name>``; alignxfer.tasks.hub), from the registry's records (no torch)."""
    registry.builtins()
    return tuple(name for name, spec in registry.TASKS.items() if spec.data == "dataset")


#: fast_align settings that sil-thot's port fixes at fast_align's defaults (no setter exists);
#: kept as keys so that a study states them, refused when changed (alignxfer.alignment checks too)
FIXED_BY_ALIGNER = {"diagonal_tension": 4.0, "prior_alpha": 0.01}

#: the longest side (in words of alignxfer.words.segment) sil-thot's FastAlign trains on: a pair
#: with a longer side is silently left out of training and gets an empty alignment
ALIGNER_MAX_WORDS = 1024


class ConfigError(ValueError):
    """An invalid configuration; the message lists every problem with its key path."""


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"].lstrip("#/").split("/")
        target = schema
        for key in ref:
            target = target[key]
        node = target
    return node


def _fill_defaults(schema: dict, node: dict, value: Any) -> Any:
    """Fill defaults of ``node`` into ``value`` (a dict), recursively, before validation."""
    node = _resolve(schema, node)
    if not isinstance(value, dict) or node.get("type") != "object":
        return value
    for key, sub in node.get("properties", {}).items():
        sub_resolved = _resolve(schema, sub)
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        elif key not in value and "default" in sub_resolved:
            value[key] = copy.deepcopy(sub_resolved["default"])
        if key in value:
            value[key] = _fill_defaults(schema, sub, value[key])
    return value


def _describe(error) -> str:
    where = _path(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {extra}; allowed: {allowed}"
    if validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; allowed: {error.validator_value}"
    if validator == "type":
        return f"{where}: expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    if validator == "pattern":
        return f"{where}: {error.instance!r} is not allowed; it must match the pattern {error.validator_value}"
    if validator == "required":
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


def _semantic_errors(cfg: dict) -> list[str]:
    """Every check the schema cannot express, in a fixed order (one message each)."""
    return (
        _alignment_errors(cfg)
        + _gold_errors(cfg)
        + _corpus_errors(cfg)
        + _task_errors(cfg)
        + _gpu_errors(cfg)
        + _apt_field_errors(cfg)
        + _split_errors(cfg)
        + _base_errors(cfg)
    )


def _alignment_errors(cfg: dict) -> list[str]:
    errors = []
    if not cfg["alignment"]["enabled"]:
        needing = [o for o in cfg["pretraining"]["objectives"] if o in alignment_objectives()]
        if needing:
            errors.append(
                f"pretraining.objectives: {needing} need word alignments but alignment.enabled is false; "
                "enable alignment or remove these objectives"
            )
    for key, fixed in FIXED_BY_ALIGNER.items():
        if cfg["alignment"][key] != fixed:
            errors.append(
                f"alignment.{key}: {cfg['alignment'][key]} is not supported; sil-thot's FastAlign port fixes it at "
                f"fast_align's default {fixed}"
            )
    if cfg["alignment"]["enabled"] and cfg["prepare"]["max_words"] > ALIGNER_MAX_WORDS:
        errors.append(
            f"prepare.max_words: {cfg['prepare']['max_words']} is above the aligner's limit of {ALIGNER_MAX_WORDS} "
            f"words a side (sil-thot's FastAlign leaves longer pairs out of training and writes empty alignments "
            f"for them); set prepare.max_words to at most {ALIGNER_MAX_WORDS}"
        )
    return errors


def _corpus_errors(cfg: dict) -> list[str]:
    errors = []
    corpus = cfg["corpus"]
    overlap = sorted(set(corpus["languages"]) & set(corpus["eval_languages"]))
    if overlap:
        errors.append(f"corpus.eval_languages: {overlap} are already in corpus.languages; list each language once")
    source = corpus["source"]
    if source not in ("url", "local"):
        return errors
    pairs = corpus[source]["pairs"]
    missing = [lang for lang in corpus["languages"] + corpus["eval_languages"] if lang not in pairs]
    if missing:
        errors.append(
            f"corpus.{source}.pairs: no entry for {missing}; every language of corpus.languages and "
            f"corpus.eval_languages needs one (has: {sorted(pairs)})"
        )
    for lang, entry in pairs.items():
        where = f"corpus.{source}.pairs.{lang}"
        if entry["format"] == "tsv" and not (entry.get("url") or entry.get("path")):
            errors.append(f"{where}: format tsv needs 'url' (with 'sha256') or 'path'")
        if (
            entry["format"] == "moses"
            and not (entry.get("en") and entry.get("xx"))
            and not entry.get("url")
            and not entry.get("path")
        ):
            errors.append(f"{where}: format moses needs 'en' and 'xx' files (or an archive 'url'/'path')")
    if cfg["tasks"]["topic"]["enabled"]:
        errors.append(
            f"tasks.topic.enabled: the topic task needs labelled documents, which only the ddtp source has "
            f"(corpus.source is {source!r}); set tasks.topic.enabled: false"
        )
    return errors


def _split_errors(cfg: dict) -> list[str]:
    split = cfg["prepare"]["split"]
    if split["test"] + split["dev"] + split["train"] >= 1:
        return ["prepare.split: test + dev + train must leave a share for pre-training (sum < 1)"]
    return []


def _base_errors(cfg: dict) -> list[str]:
    errors = []
    base = cfg["base"]
    if base["source"] == "pretrained" and not base["name"]:
        errors.append("base.name: base.source is 'pretrained' but no model name or folder is given")
    if cfg["tokenizer"]["source"] == "pretrained" and base["source"] != "pretrained":
        errors.append(
            "tokenizer.source: 'pretrained' needs base.source: pretrained (the tokenizer comes from that model)"
        )
    if base["source"] == "pretrained" and cfg["tokenizer"]["source"] != "pretrained":
        errors.append(
            "tokenizer.source: a pretrained base model needs its own tokenizer; set tokenizer.source: pretrained"
        )
    if base["source"] != "scratch":
        return errors
    max_pos = base["architecture"]["max_position_embeddings"]
    arch = base["architecture"]
    if arch["hidden_size"] % arch["num_attention_heads"]:
        errors.append("base.architecture.hidden_size must be a multiple of num_attention_heads")
    needs = 2 * cfg["pretraining"]["budget"]["max_length"] + 3
    if "tlm" in cfg["pretraining"]["objectives"] and needs > max_pos:
        errors.append(
            f"pretraining.budget.max_length: TLM packs two sides ({needs} positions) but "
            f"base.architecture.max_position_embeddings is {max_pos}"
        )
    training = base["training"]
    if training["objective"] == "contrastive" and training["batch_size"] % 2:
        errors.append(
            f"base.training.batch_size: {training['batch_size']} is odd; with base.training.objective contrastive "
            f"it counts sentences, two per pair, so it must be even (e.g. {training['batch_size'] + 1})"
        )
    # every section with a max_length the model reads: the tasks' own (registry hparams) too
    tasks = [
        f"tasks.{name}"
        for name, spec in registry.TASKS.items()
        if "max_length" in spec.hparam_keys() and name in cfg["tasks"]
    ]
    for key in ["base.training", "finetuning", "tasks.retrieval", *tasks]:
        section = cfg
        for part in key.split("."):
            section = section[part]
        if section.get("enabled", True) and (section["max_length"] or 0) > max_pos:
            errors.append(f"{key}.max_length: {section['max_length']} exceeds max_position_embeddings {max_pos}")
    return errors


def _apt_field_errors(cfg: dict) -> list[str]:
    """corpus.ddtp's mirror/suite/component/architecture go into a line of apt's sources.list: no
    whitespace or control character may reach it (the schema's patterns allow a final newline)."""
    errors = []
    for key in ("mirror", "suite", "component", "architecture"):
        value = cfg["corpus"]["ddtp"][key]
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
            errors.append(
                f"corpus.ddtp.{key}: {value!r} contains whitespace or a control character; it is written into "
                "apt's sources.list, so it must be a single word (e.g. amd64, bookworm, main, http://deb.debian.org/debian)"
            )
    return errors


def _gold_errors(cfg: dict) -> list[str]:
    """alignment.gold: both files of each set of a study language exist (paths relative to the
    working directory, where snakemake runs)."""
    errors = []
    quality = cfg["alignment"]["enabled"] and cfg["alignment"]["quality"]["enabled"]
    for lang, spec in cfg["alignment"]["gold"].items():
        if not quality or lang not in cfg["corpus"]["languages"]:
            continue
        for suffix in (".src-tgt", ".gold"):
            path = Path(spec["path"] + suffix)
            if not path.is_file():
                errors.append(
                    f"alignment.gold.{lang}.path: {path} not found; a gold set is two files, PATH.src-tgt "
                    "('left ||| right' tokens a line) and PATH.gold (links i-j / ipj, 1-indexed), see docs/alignment-quality.md"
                )
    return errors


def _gpu_errors(cfg: dict) -> list[str]:
    """Data-parallel pre-training shares the micro-batches of a step among the GPUs of a job."""
    gpus = cfg["gpus_per_job"]
    if gpus < 2:
        return []
    sections = ["pretraining.budget"] + (["base.training"] if cfg["base"]["source"] == "scratch" else [])
    errors = []
    for key in sections:
        section = cfg
        for part in key.split("."):
            section = section[part]
        accumulation = section["gradient_accumulation"]
        if accumulation % gpus:
            errors.append(
                f"{key}.gradient_accumulation: {accumulation} is not a multiple of gpus_per_job ({gpus}); each GPU "
                f"computes gradient_accumulation / gpus_per_job micro-batches of batch_size per step (e.g. divide "
                f"batch_size by {gpus} and multiply gradient_accumulation by {gpus} to keep the batch of a step)"
            )
    return errors


def _task_errors(cfg: dict) -> list[str]:
    """Checks of the Hugging Face dataset tasks (xnli, mlqa) that the schema cannot express."""
    errors = []
    for name in dataset_tasks():
        task = cfg["tasks"].get(name)  # a plug-in of another config loaded in this process: absent
        if not task or not task["enabled"]:
            continue
        missing = [p for p in ("train", "dev", "test", "translate_train", "translate_dev") if p not in task]
        if missing:
            errors.append(
                f"tasks.{name}: no {missing}; an enabled dataset task needs each (a task source: dataset, config, split)"
            )
            continue
        if not task["settings"]:
            errors.append(f"tasks.{name}.settings: empty; list zero_shot and/or translate_train, or set enabled: false")
        for part in ("train", "dev", "test", "translate_train", "translate_dev"):
            spec = task[part]
            if not looks_like_local_path(spec["dataset"]) and not spec.get("split"):
                errors.append(
                    f"tasks.{name}.{part}.split: a hub dataset ({spec['dataset']!r}) needs the split to load "
                    "(e.g. train, validation, test)"
                )
            if spec.get("config") and spec.get("data_dir"):
                errors.append(
                    f"tasks.{name}.{part}: give either config ({spec['config']!r}, a configuration of the dataset "
                    f"card) or data_dir ({spec['data_dir']!r}, a folder of the repository), not both"
                )
    mlqa = cfg["tasks"]["mlqa"]
    if mlqa["enabled"]:
        length = mlqa["max_length"] or cfg["finetuning"]["max_length"]
        room = length - mlqa["max_query_length"] - 3
        where = (
            "tasks.mlqa.max_length" if mlqa["max_length"] else "finetuning.max_length (tasks.mlqa.max_length is null)"
        )
        if room <= 0:
            errors.append(
                f"{where}: {length} leaves no room for the context after a tasks.mlqa.max_query_length "
                f"({mlqa['max_query_length']})-token question; raise it or lower max_query_length"
            )
        elif mlqa["doc_stride"] >= room:
            errors.append(
                f"tasks.mlqa.doc_stride: {mlqa['doc_stride']} must be smaller than the context room of a window, "
                f"{room} tokens ({where} {length} - max_query_length {mlqa['max_query_length']} - 3)"
            )
    return errors


def looks_like_local_path(name: str) -> bool:
    """Whether a task source's ``dataset`` names a local folder/file rather than a hub dataset."""
    return name.startswith(("/", "./", "../", "~", "file://")) or Path(name).exists()


CHECKSUM_HINT = (
    "`python -m alignxfer.sources.url CONFIG...` downloads every url that lacks one into the workflow's cache "
    "and prints the sha256 lines to add (or run sha256sum on a copy you trust)"
)


def missing_checksums(cfg: dict) -> list[str]:
    """The ``corpus.url`` files that have no sha256 yet, one message each.

    Not a validation error: the DAG still plans (a study can be inspected before its archives are
    fetched), the workflow warns, and the download job refuses such a file before fetching a byte.
    """
    corpus = cfg["corpus"]
    if corpus["source"] != "url":
        return []
    out = []
    for lang, entry in corpus["url"]["pairs"].items():
        for side in ("", "en", "xx"):
            spec = entry.get(side, {}) if side else entry
            if spec.get("url") and not spec.get("sha256"):
                where = f"corpus.url.pairs.{lang}{'.' + side if side else ''}"
                out.append(f"{where}: a url needs its sha256 (not filled in for {spec['url']}); {CHECKSUM_HINT}")
    return out


PIN_HINT = (
    "`python -m alignxfer.pin CONFIG...` prints the current commit of every hub source, to paste or use as an overlay"
)


def hub_sources(cfg: dict) -> list[tuple[str, str, str, str | None]]:
    """Every hub repository a validated config reads: ``(config key, repo type, repo id, revision)``.

    ``{lang}`` in a task source is expanded over the task's languages (English for train/dev)."""
    out = []
    base = cfg["base"]
    if base["source"] == "pretrained" and base.get("name") and not looks_like_local_path(base["name"]):
        out.append(("base", "model", base["name"], base.get("revision")))
    for name in dataset_tasks():
        task = cfg["tasks"].get(name)  # a plug-in of another config loaded in this process: absent
        if not task or not task["enabled"]:
            continue
        parts = ["train", "dev", "test"] + (
            ["translate_train", "translate_dev"] if "translate_train" in task["settings"] else []
        )
        for part in parts:
            spec = task[part]
            if looks_like_local_path(spec["dataset"]):
                continue
            langs = ["en"] if part in ("train", "dev") else (["en"] if part == "test" else []) + list(task["languages"])
            seen = set()
            for lang in langs:
                repo = spec["dataset"].replace("{lang}", lang)
                if repo not in seen:
                    seen.add(repo)
                    out.append((f"tasks.{name}.{part}", "dataset", repo, spec.get("revision")))
    return out


def unpinned_revisions(cfg: dict) -> list[str]:
    """One line per hub source whose revision is not a 40-hex commit (a branch can move); :data:`PIN_HINT` says what to do."""
    out, seen = [], set()
    for key, kind, repo, revision in hub_sources(cfg):
        if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
            continue
        if (key, repo, revision) in seen:
            continue
        seen.add((key, repo, revision))
        out.append(f"{key}.revision: {kind} {repo!r} at {revision or 'main'!r}")
    return out


def validate_config(cfg: dict, source: str = "config") -> dict:
    """Validate ``cfg`` in place (defaults filled) and return it; raise ConfigError listing all problems."""
    import jsonschema

    if cfg is None:
        cfg = {}
    plugins = cfg.get("plugins") if isinstance(cfg.get("plugins"), list) else None  # the schema checks the rest
    try:
        registry.load_plugins(plugins)
    except registry.PluginError as err:
        raise ConfigError(f"invalid configuration ({source}):\n  - {err}") from err
    schema = registry.extend_schema(load_schema(), plugins)
    _fill_defaults(schema, schema, cfg)
    validator = jsonschema.Draft202012Validator(schema)
    problems = sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    messages = [_describe(e) for e in problems]
    if not messages:
        messages = _semantic_errors(cfg)
    if messages:
        raise ConfigError(f"invalid configuration ({source}):\n  - " + "\n  - ".join(messages))
    return cfg


def load_config(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        try:
            cfg = yaml.safe_load(handle) or {}
        except yaml.YAMLError as err:
            raise ConfigError(yaml_error_message(path, err)) from err
    return validate_config(cfg, source=str(path))


def yaml_error_message(path, err) -> str:
    """``FILE:LINE:COLUMN: not valid YAML: PROBLEM`` for a YAML syntax error (lines from 1)."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = " ".join(p for p in (getattr(err, "context", None), getattr(err, "problem", None)) if p) or str(err)
    context = getattr(err, "context_mark", None)
    if context is not None and mark is not None and context.line != mark.line:
        problem += f" (what it was parsing began at line {context.line + 1})"
    return (
        f"{where}: not valid YAML: {problem}; fix the file there (YAML needs consistent indentation and 'key: value')"
    )


def check_yaml_files(paths) -> None:
    """Raise ConfigError naming file and line for the first of ``paths`` that is not valid YAML."""
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                yaml.safe_load(handle)
        except yaml.YAMLError as err:
            raise ConfigError(yaml_error_message(path, err)) from err
        except OSError:
            continue


def config_hash(cfg: dict) -> str:
    """A short, stable hash of the validated config (key order does not matter)."""
    blob = json.dumps(cfg, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def describe_base(config: dict) -> str:
    """One line for claims.md on what the arms started from (a validated config): a caveat when
    the base has seen the bitext's sentence alignment."""
    base = config["base"]
    if base["source"] == "pretrained":
        return f"`{base['name']}` (pretrained)."
    if base["training"]["objective"] == "contrastive":
        return (
            "trained from scratch with MLM plus translation ranking on the pre-training bitext "
            "(`base.training.objective: contrastive`): the arms measure what continued pre-training adds "
            "to an already aligned model, and the `contrastive` arm continues the base's own objective."
        )
    return "trained from scratch with MLM only (`base.training.objective: mlm`)."


def main(argv=None) -> int:
    """``python -m alignxfer.config FILE...``: validate config files (overlays in order, as
    ``snakemake --configfile`` merges them); print each problem with its file, line or key."""
    import sys

    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print(
            "usage: python -m alignxfer.config OVERLAY.yaml ... (merged over the checkout's config.yaml, "
            "as snakemake --configfile does)",
            file=sys.stderr,
        )
        return 2
    default = SCHEMA_PATH.parent.parent / "config.yaml"
    if default.exists() and not any(Path(p).resolve() == default for p in paths):
        paths.insert(0, str(default))
    try:
        check_yaml_files(paths)
        merged: dict = {}
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                merge_config(merged, yaml.safe_load(handle) or {})
        validate_config(merged, source=", ".join(paths))
    except (ConfigError, OSError) as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{', '.join(paths)}: valid")
    return 0


def merge_config(into: dict, new: dict) -> dict:
    """Snakemake's update_config: nested dicts merge, everything else replaces (``into``, updated)."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge_config(into[key], value)
        else:
            into[key] = value
    return into


if __name__ == "__main__":
    raise SystemExit(main())
