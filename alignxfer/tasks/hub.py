"""Task data from Hugging Face datasets (hub or local copies) into the task file contract.

A *source* (config ``tasks.<task>.<part>``) names where one split of one language comes from::

    {dataset: facebook/xnli, config: "{lang}", split: test, revision: null}

``{lang}`` in ``dataset`` or ``config`` is replaced by the language code. ``dataset`` is one of

* a local folder written by ``datasets.save_to_disk`` (a ``Dataset``, or a ``DatasetDict`` from
  which ``split`` is taken) -- for clusters whose compute nodes have no internet, or for tests;
* a local SQuAD-format JSON file (``{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}``,
  how SQuAD v1.1 and MLQA are distributed) -- extractive QA tasks only;
* otherwise a dataset repository on the Hugging Face hub, at ``revision`` (pin it to a commit for a
  reproducible study; ``python -m alignxfer.pin CONFIG`` prints the commits). Its files are fetched
  with ``huggingface_hub.snapshot_download`` into the hub cache (``$HF_HOME/hub``, which also serves
  ``HF_HUB_OFFLINE=1`` runs and compute nodes without internet), only those of the chosen part:
  ``config`` -- a configuration declared in the repository card's ``configs:`` (XNLI's ``en``,
  SQuAD's ``plain_text``): the files its ``data_files`` name; or ``data_dir`` -- a folder of the
  repository (the hub's parquet export of a loading-script dataset, e.g. MLQA at
  ``revision: refs/convert/parquet``, ``data_dir: mlqa.de.de``, holds ``mlqa.de.de/test/0000.parquet``).
  Then ``datasets.load_dataset(<snapshot folder>, config, data_dir=data_dir, split=split)`` reads them
  with datasets' own rules (card configs; split names from file and folder names). ``config`` and
  ``data_dir`` together are an error, and so is a repository with several card configs and neither
  (datasets would silently take the first); a repository that still holds a loading script
  (``<name>.py``, refused by datasets >= 4) is an error that names its parquet export.

A path that looks local (absolute, ``./``, ``../``, ``~``) but does not exist is an error, never a
hub lookup. :func:`prepare_task_data` writes each part's JSON lines with the task plug-in's
converter (``Task.records_from_rows``), the task's ``labels.json`` and a summary with every
source's provenance (kind, resolved name, split, revision, fingerprint or sha256, row counts, drops).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from alignxfer.config import looks_like_local_path
from alignxfer.io import atomic_open, write_json

#: keys of a source specification
SOURCE_KEYS = ("dataset", "config", "data_dir", "split", "revision")


def resolve_source(spec: dict, lang: str) -> dict:
    """``spec`` with ``{lang}`` replaced in ``dataset``, ``config`` and ``data_dir``; unknown keys are errors."""
    unknown = sorted(set(spec) - set(SOURCE_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in a task data source; allowed: {list(SOURCE_KEYS)}")
    if not spec.get("dataset"):
        raise ValueError("a task data source needs 'dataset' (a hub name, a save_to_disk folder or a SQuAD JSON file)")
    out = {key: spec.get(key) for key in SOURCE_KEYS}
    for key in ("dataset", "config", "data_dir"):
        if isinstance(out[key], str):
            out[key] = out[key].replace("{lang}", lang)
    return out


def _local_path(name: str) -> Path:
    if name.startswith("file://"):
        from urllib.parse import unquote, urlparse

        name = unquote(urlparse(name).path)
    return Path(name).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_squad_json(path) -> list[dict]:
    """Rows in the Hugging Face ``squad`` schema from a SQuAD-format JSON file."""
    with open(path, encoding="utf-8") as handle:
        try:
            blob = json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(blob, dict) or not isinstance(blob.get("data"), list):
        raise ValueError(f"{path}: not a SQuAD-format file (expected a top-level 'data' list)")
    rows = []
    for article in blob["data"]:
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                answers = qa.get("answers", [])
                rows.append(
                    {
                        "id": str(qa["id"]),
                        "title": article.get("title", ""),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [int(a["answer_start"]) for a in answers],
                        },
                    }
                )
    return rows


def load_rows(spec: dict, lang: str, where: str = "source") -> tuple[object, dict]:
    """Load one source: ``(rows, provenance)``; ``rows`` is a ``datasets.Dataset`` or a list of dicts."""
    src = resolve_source(spec, lang)
    name = src["dataset"]
    provenance = {k: v for k, v in src.items() if v is not None}
    if looks_like_local_path(name):
        path = _local_path(name)
        if not path.exists():
            raise FileNotFoundError(f"{where}: dataset {name!r} looks like a local path but does not exist")
        if path.is_file():
            if path.suffix.lower() != ".json":
                raise ValueError(
                    f"{where}: {path} is a file; only SQuAD-format .json files are read directly "
                    "(save other data with datasets' save_to_disk and give the folder)"
                )
            rows = read_squad_json(path)
            provenance.update({"kind": "squad_json", "sha256": _sha256(path), "rows": len(rows)})
            return rows, provenance
        import datasets

        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            split = src["split"]
            if split not in loaded:
                raise ValueError(f"{where}: {path} has splits {sorted(loaded)}, not {split!r}; set 'split'")
            loaded = loaded[split]
        provenance.update({"kind": "disk", "rows": len(loaded), "fingerprint": getattr(loaded, "_fingerprint", None)})
        return loaded, provenance
    if not src["split"]:
        raise ValueError(f"{where}: the hub dataset {name!r} needs 'split' (e.g. train, validation, test)")
    loaded, hub = load_hub_split(name, src["config"], src["data_dir"], src["split"], src["revision"], where)
    provenance.update({"kind": "hub", **hub, "rows": len(loaded), "fingerprint": getattr(loaded, "_fingerprint", None)})
    return loaded, provenance


def card_configs(readme) -> dict:
    """``{config name: [file patterns]}`` from a dataset card's YAML ``configs:`` (empty without)."""
    import yaml

    text = Path(readme).read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    header = text.split("---", 2)[1] if text.count("---") >= 2 else ""
    meta = yaml.safe_load(header) or {}
    out = {}
    for entry in meta.get("configs") or []:
        files = entry.get("data_files") or []
        if isinstance(files, (str, dict)):
            files = [files]
        patterns = []
        for item in files:
            paths = item.get("path") if isinstance(item, dict) else item
            patterns += [paths] if isinstance(paths, str) else list(paths or [])
        out[str(entry.get("config_name", "default"))] = patterns
    return out


def _hub_error(where: str, what: str, err: Exception) -> RuntimeError:
    import os

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    hint = (
        "HF_HUB_OFFLINE is set: the files must already be in the hub cache ($HF_HOME/hub); run this job once "
        "where the hub is reachable (e.g. the submitting machine), or point 'dataset' at a local copy"
        if offline
        else "check the name, config/data_dir, split and revision on the hub, or point 'dataset' at a local copy"
    )
    return RuntimeError(f"{where}: {what} failed: {type(err).__name__}: {err}. {hint}")


def load_hub_split(name: str, config, data_dir, split: str, revision, where: str = "source"):
    """One split of a hub dataset repository (see the module docstring): ``(Dataset, provenance)``."""
    import datasets
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import EntryNotFoundError

    if config and data_dir:
        raise ValueError(
            f"{where}: give either 'config' ({config!r}, a configuration of the repository card) or 'data_dir' "
            f"({data_dir!r}, a folder of the repository), not both"
        )
    rev = revision or "main"
    patterns = None
    script = f"{name.split('/')[-1]}.py"  # fetched if there is one, to say so (datasets' own test)
    if data_dir:
        patterns = [f"{data_dir.strip('/')}/**"]
    else:
        try:
            readme = hf_hub_download(name, "README.md", repo_type="dataset", revision=rev)
        except EntryNotFoundError:
            readme = None
        except Exception as err:  # offline without a cached card, unknown repo or revision, no network
            raise _hub_error(where, f"reading the card of dataset {name!r} at revision {rev!r}", err) from err
        configs = card_configs(readme) if readme else {}
        if config:
            if configs and config not in configs:
                raise ValueError(
                    f"{where}: dataset {name!r} at revision {rev!r} has no config {config!r}; its card declares "
                    f"{sorted(configs)}. A folder of the repository is 'data_dir', not 'config'"
                )
            patterns = ["README.md", script] + configs.get(config, [f"{config}/**"])
        elif len(configs) > 1:
            raise ValueError(
                f"{where}: dataset {name!r} declares configs {sorted(configs)}; set 'config' to one of them "
                "(without it datasets would load only the first)"
            )
        elif configs:
            patterns = ["README.md", script] + next(iter(configs.values()))
    try:
        folder = snapshot_download(name, repo_type="dataset", revision=rev, allow_patterns=patterns)
    except Exception as err:
        raise _hub_error(where, f"fetching dataset {name!r} (revision {rev!r}, files {patterns})", err) from err
    folder = Path(folder)
    scripts = sorted(p.name for p in folder.glob("*.py"))
    if scripts and not data_dir:
        raise ValueError(
            f"{where}: dataset {name!r} at revision {rev!r} is a loading script ({scripts[0]}), which datasets "
            "no longer runs; use the hub's parquet export: revision: refs/convert/parquet (pinned to its commit) "
            "and data_dir: <config name>, e.g. data_dir: mlqa.de.de"
        )
    if data_dir and not (folder / data_dir).is_dir():
        raise FileNotFoundError(f"{where}: dataset {name!r} at revision {rev!r} has no folder {data_dir!r}")
    try:
        loaded = datasets.load_dataset(str(folder), config, data_dir=data_dir, split=split)
    except Exception as err:
        raise _hub_error(
            where,
            f"datasets.load_dataset({name!r} at {folder.name}, {config!r}, data_dir={data_dir!r}, split={split!r})",
            err,
        ) from err
    from fnmatch import fnmatch

    files = sorted(
        rel
        for rel in (str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if patterns is None or any(fnmatch(rel, pattern) for pattern in patterns)
    )
    return loaded, {"commit": folder.name, "files": files}


def feature_names(rows, key: str) -> list[str] | None:
    """The class names of column ``key`` if it is a ``datasets.ClassLabel``."""
    features = getattr(rows, "features", None)
    feature = features.get(key) if features else None
    return list(feature.names) if feature is not None and hasattr(feature, "names") else None


def subsample_indices(n: int, limit: int | None, seed: int) -> list[int]:
    """All of ``range(n)``, or ``limit`` of them chosen by ``seed`` and kept in their original order
    (the same choice for every language of a line-parallel set, e.g. XNLI's translated MultiNLI)."""
    if limit is None or limit >= n:
        return list(range(n))
    chosen = random.Random(seed).sample(range(n), limit)
    return sorted(chosen)


def write_records(path, records: Iterable[dict]) -> int:
    n = 0
    with atomic_open(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def prepare_task_data(task_name: str, parts: dict, outputs: dict, seed: int = 0) -> dict:
    """Write the task files of ``parts`` (``{output name: {"source": spec, "lang": code,
    "max_examples": int or None}}``) to ``outputs[output name]``; ``outputs`` may also hold
    ``labels`` (the task's label list) and ``summary`` (provenance and counts). Returns the summary."""
    from alignxfer.tasks import get_task

    task = get_task(task_name)
    summary = {"task": task_name, "parts": {}}
    for part, spec in parts.items():
        if part not in outputs:
            raise ValueError(f"part {part!r} has no output path; outputs: {sorted(outputs)}")
        lang = spec["lang"]
        where = f"tasks.{task_name} ({part}, {lang})"
        rows, provenance = load_rows(spec["source"], lang, where)
        indices = subsample_indices(len(rows), spec.get("max_examples"), seed)
        selected = rows.select(indices) if hasattr(rows, "select") else [rows[i] for i in indices]
        drops: Counter = Counter()
        records = list(
            task.records_from_rows(selected, lang, drops, label_names=feature_names(rows, "label"), where=where)
        )
        if not records:
            raise ValueError(f"{where}: no usable examples in {provenance} (dropped: {dict(drops)})")
        n = write_records(outputs[part], records)
        summary["parts"][part] = {
            "lang": lang,
            "source": provenance,
            "selected": len(indices),
            "written": n,
            "drops": dict(sorted(drops.items())),
        }
        print(
            f"{task_name} {part} ({lang}): {n} examples from {provenance.get('kind')} {provenance['dataset']}"
            f"{' [' + str(provenance.get('config')) + ']' if provenance.get('config') else ''}, dropped {dict(drops)}",
            flush=True,
        )
    if "labels" in outputs:
        write_json(outputs["labels"], task.label_names())
    if "summary" in outputs:
        write_json(outputs["summary"], summary)
    return {f"{part}.examples": info["written"] for part, info in summary["parts"].items()}
