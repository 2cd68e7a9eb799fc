"""The task plug-in interface and the fine-tuning machinery every fine-tuned task shares.

A task plug-in (:class:`Task` subclass) turns its data files into *features* (dicts of token-id
lists plus targets), and supplies a model class and a dev/test scorer; this module does the rest:
seeding, threads, bf16 autocast, length-bucketed dynamic padding, AdamW with linear warmup and
decay, per-epoch dev evaluation, best-dev checkpoint selection, and atomic output.

The same loop serves sentence classification (topic, XNLI: add ``token_type_ids`` to the features)
and extractive QA (MLQA: ``start_positions``/``end_positions`` instead of ``labels``): any feature
key holding a list is padded, any scalar becomes a 1-d tensor, and the model's own ``loss`` is
minimised.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from alignxfer import console, registry
from alignxfer.io import atomic_open, write_json, write_jsonl
from alignxfer.training.batching import EpochBatches, sorted_batches
from alignxfer.training.loop import train as run_training_loop
from alignxfer.training.precision import resolve_bf16
from alignxfer.training.runtime import select_device, set_threads
from alignxfer.training.saving import save_model


@dataclass(frozen=True)
class FinetuneHparams:
    """The fine-tuning hyperparameters (config ``finetuning:`` minus ``seeds``/``group_seeds``, plus a
    task's own, e.g. MLQA's) and their defaults; ``tests/test_registry.py`` checks the schema's."""

    learning_rate: float = 1.0e-4
    epochs: int = 3
    batch_size: int = 32
    max_length: int = 64
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    bf16: bool | str = "auto"
    max_grad_norm: float = 1.0
    eval_batch_size: int = 128
    log_every: int = 50
    patience: int | None = None  # early stopping: epochs without a better dev score before stopping (None: never)


#: :class:`FinetuneHparams` as ``{name: default}`` (what :func:`resolve_hparams` starts from)
DEFAULT_HPARAMS = registry.option_defaults(FinetuneHparams)

#: written next to the fine-tuned model: seed, hyperparameters, label statistics, selected epoch
INFO_FILE = "finetune_info.json"


@dataclass(frozen=True)
class FinetuneFiles:
    """The files of one fine-tuning: read ``model`` (the pre-trained folder), ``train``, ``dev``,
    ``labels``; write ``out_model`` (folder), ``history`` (a JSON line per epoch), ``dev_metrics``."""

    model: str | Path
    train: str | Path
    dev: str | Path
    labels: str | Path
    out_model: str | Path
    history: str | Path
    dev_metrics: str | Path


@dataclass(frozen=True)
class EvalFiles:
    """The files of one evaluation: read ``model`` (fine-tuned), ``test``, ``labels``; write
    ``metrics`` (the metric JSON) and, if given, ``predictions`` (one line per example)."""

    model: str | Path
    test: str | Path
    labels: str | Path
    metrics: str | Path
    predictions: str | Path | None = None


class Task:
    """A fine-tuned evaluation task. Subclasses set ``name``; the rest of its record (metrics,
    hyperparameters, data) is in :data:`alignxfer.registry.TASKS`."""

    name: str = ""

    @property
    def primary_metric(self) -> str:
        """The metric that selects the dev epoch and heads the tables."""
        return registry.task(self.name).primary_metric

    @property
    def metric_names(self) -> tuple:
        """The metrics this task writes into ``metrics`` of its metric JSON."""
        return registry.task(self.name).metric_names

    # ---- fine-tuning and evaluation, written once; a task supplies the hooks below

    def finetune(
        self,
        files: FinetuneFiles,
        hparams: dict,
        seed: int,
        threads: int | None = None,
        callback: Callable[[int, dict], None] | None = None,
    ) -> dict:
        """Fine-tune the pre-trained model ``files.model`` on ``files.train``; keep the best dev
        epoch (on ``files.dev``) in ``files.out_model`` (:func:`train_with_dev_selection`)."""
        from transformers import AutoTokenizer

        model_dir, labels_path = files.model, files.labels

        set_threads(threads)
        hp = resolve_hparams(hparams)
        ctx = self.context(labels_path, hp)
        train = self.read_examples(files.train, ctx)
        dev = self.read_examples(files.dev, ctx)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        train_drops: dict = {}
        train_features = self.features(tokenizer, train, ctx, hp, training=True, drops=train_drops)
        dev_features = self.features(tokenizer, dev, ctx, hp, training=False)

        seed_everything(int(seed))  # the new head's weights and dropout come from the seed
        model = self.new_model(model_dir, ctx)
        device = select_device()
        pad_id = _pad_id(tokenizer)

        def evaluate_dev(m) -> dict:
            preds, loss, _ = self.predict(m, dev_features, dev, ctx, hp, pad_id, device)
            return {**self.score(dev, dev_features, preds, ctx), "loss": loss}

        info = {
            "task": self.name,
            **self.train_info(train, dev, train_features, train_drops, ctx),
            "source_model": str(model_dir),
        }
        return train_with_dev_selection(
            model,
            tokenizer,
            train_features,
            evaluate_dev,
            hp,
            int(seed),
            files.out_model,
            files.history,
            files.dev_metrics,
            self.primary_metric,
            info=info,
            callback=callback,
            device=device,
        )

    def evaluate(self, files: EvalFiles, meta: dict, hparams: dict, threads: int | None = None) -> dict:
        """Score the fine-tuned model ``files.model`` on ``files.test``; write the metric JSON
        ``files.metrics``: ``{"task", "setting", "objective", "lang", "train_lang", "seed", ...meta, "n",
        "primary_metric", "metrics", "loss", ...the task's fields, "test_file", ...}`` and, with
        ``files.predictions``, one line per example ``{"id", "gold", "pred", "correct", ...}``."""
        from transformers import AutoTokenizer

        model_dir, test_path, labels_path = files.model, files.test, files.labels
        out_path, predictions_path = files.metrics, files.predictions

        set_threads(threads)
        hp = resolve_hparams(hparams)
        ctx = self.context(labels_path, hp)
        examples = self.read_examples(test_path, ctx)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = self.trained_model(model_dir, ctx, labels_path)
        device = select_device()
        model.to(device)
        features = self.features(tokenizer, examples, ctx, hp, training=False)
        preds, loss, scores = self.predict(model, features, examples, ctx, hp, _pad_id(tokenizer), device, scores=True)
        info = read_info(model_dir)
        result = {
            "task": self.name,
            "setting": None,
            "objective": None,
            "lang": None,
            "train_lang": None,
            "seed": None,
            **meta,
            "n": len(examples),
            "primary_metric": self.primary_metric,
            "metrics": self.score(examples, features, preds, ctx),
            "loss": loss,
            **self.test_fields(examples, features, preds, ctx, meta, info),
            "test_file": str(test_path),
        }
        if info.get("best_epoch") is not None:
            result["best_epoch"] = info["best_epoch"]
        result.update(self.provenance_fields(info, meta))
        write_json(out_path, result)
        if predictions_path:  # the contract of docs/architecture.md: id, gold, pred, correct, ...
            write_jsonl(Path(predictions_path), self.prediction_records(examples, features, preds, scores, ctx))
        return result

    def context(self, labels_path, hp: dict):
        """What reading and encoding need besides the files (class names, QA options, ...)."""
        return None

    def read_examples(self, path, ctx) -> list[dict]:
        raise NotImplementedError

    def features(
        self, tokenizer, examples: list[dict], ctx, hp: dict, training: bool, drops: dict | None = None
    ) -> list[dict]:
        """Token-id lists plus targets, one dict per model input (``training``: the training set;
        ``drops`` counts what was left out)."""
        raise NotImplementedError

    def new_model(self, model_dir, ctx):
        """The pre-trained encoder in ``model_dir`` with the task's new head."""
        raise NotImplementedError

    def trained_model(self, model_dir, ctx, labels_path):
        """The fine-tuned model in ``model_dir`` (checked against the task's data)."""
        raise NotImplementedError

    def predict(self, model, features, examples, ctx, hp: dict, pad_id: int, device, scores: bool = False):
        """``(predictions per example, mean loss, per-example scores or None)``."""
        raise NotImplementedError

    def score(self, examples, features, preds, ctx) -> dict:
        """The metrics (:attr:`metric_names`) of ``preds``."""
        raise NotImplementedError

    def train_info(self, train, dev, train_features, train_drops: dict, ctx) -> dict:
        """What ``finetune_info.json`` records about the training data."""
        return {"n_train": len(train), "n_dev": len(dev)}

    def test_fields(self, examples, features, preds, ctx, meta: dict, info: dict) -> dict:
        """The task's own fields of the metric JSON (after ``loss``)."""
        return {}

    def provenance_fields(self, info: dict, meta: dict) -> dict:
        """Fields of the metric JSON from the fine-tuning record (after ``best_epoch``)."""
        return {}

    def prediction_records(self, examples, features, preds, scores, ctx) -> Iterable[dict]:
        raise NotImplementedError

    # tasks whose data come from Hugging Face datasets (alignxfer.tasks.hub) also implement:

    def label_names(self) -> list:
        """The content of the task's ``labels.json`` (class names in id order; ``[]`` for QA)."""
        raise NotImplementedError(f"task {self.name!r} does not prepare its data from datasets")

    def records_from_rows(self, rows, lang: str, drops, label_names=None, where: str = "") -> Iterable[dict]:
        """Convert dataset rows of language ``lang`` into the task's JSON-lines records, counting
        each dropped row's reason in ``drops`` (a Counter). ``label_names``: the class names of a
        ``ClassLabel`` column ``label``, if the dataset has one."""
        raise NotImplementedError(f"task {self.name!r} does not prepare its data from datasets")


# --------------------------------------------------------------------------- environment


def resolve_hparams(hparams: dict | None) -> dict:
    """Defaults filled in; keys this module does not know are kept (a task may use them)."""
    out = dict(DEFAULT_HPARAMS)
    out.update({k: v for k, v in (hparams or {}).items() if v is not None})
    for key in ("epochs", "batch_size", "max_length", "eval_batch_size"):
        if int(out[key]) < 1:
            raise ValueError(f"finetuning.{key} must be a positive integer, got {out[key]!r}")
    return out


# the device, threads and precision of fine-tuning are pre-training's (alignxfer.training)
setup_threads = set_threads
pick_device = select_device


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- batching


def collate(features: Sequence[dict], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Pad every list-valued key to the batch's longest (``input_ids`` with the pad id, others 0);
    scalar keys become 1-d tensors. Keys starting with ``_`` are bookkeeping and are skipped."""
    batch = {}
    for key in features[0]:
        if key.startswith("_"):
            continue
        values = [f[key] for f in features]
        if isinstance(values[0], (list, tuple)):
            width = max(len(v) for v in values)
            pad = pad_token_id if key == "input_ids" else 0
            batch[key] = torch.tensor([list(v) + [pad] * (width - len(v)) for v in values], dtype=torch.long)
        else:
            batch[key] = torch.tensor(values)
    return batch


def iterate_eval_batches(
    features: Sequence[dict], batch_size: int, pad_token_id: int, device: torch.device
) -> Iterator[tuple[list[int], dict]]:
    """(indices, tensors on device) over ``features``, sorted by length."""
    lengths = [len(f["input_ids"]) for f in features]
    for idx in sorted_batches(lengths, batch_size):
        batch = collate([features[i] for i in idx], pad_token_id)
        yield idx, {k: v.to(device) for k, v in batch.items()}


# --------------------------------------------------------------------------- optimisation


def is_better(candidate: dict, best: dict | None, primary_metric: str) -> bool:
    """Checkpoint selection: higher primary dev metric wins; on a tie, lower dev loss; else keep the earlier."""
    if best is None:
        return True
    if candidate[primary_metric] != best[primary_metric]:
        return candidate[primary_metric] > best[primary_metric]
    return candidate.get("loss", math.inf) < best.get("loss", math.inf)


# --------------------------------------------------------------------------- the loop


class TaskLoss:
    """Fine-tuning as an objective of the shared training loop (:func:`alignxfer.training.loop.train`):
    a batch is the task's features padded by :func:`collate`, its loss the model's own ``loss``."""

    name = "finetune"
    options: dict = {}
    components: tuple = ()

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def length(self, feature: dict) -> int:
        return len(feature["input_ids"])

    def collate(self, features, generator=None) -> dict:
        return collate(features, self.pad_id)

    def tokens(self, batch: dict) -> int:
        return int(batch["input_ids"].numel())

    def loss(self, model, batch: dict):
        return model(**batch).loss, {}

    def check_model(self, model) -> None:
        pass

    def setup(self, model, device) -> None:
        pass


def train_with_dev_selection(
    model: torch.nn.Module,
    tokenizer,
    train_features: list[dict],
    evaluate_dev: Callable[[torch.nn.Module], dict],
    hparams: dict,
    seed: int,
    out_dir,
    history_path,
    dev_metrics_path,
    primary_metric: str,
    info: dict | None = None,
    callback: Callable[[int, dict], None] | None = None,
    device: torch.device | None = None,
) -> dict:
    """Fine-tune ``model`` for ``hparams['epochs']`` epochs, scoring dev after each one; with
    ``hparams['patience']`` = k, stop once k epochs in a row brought no better dev score (the
    learning-rate schedule still spans ``epochs``, so the stopping rule changes no other step).

    ``evaluate_dev(model)`` returns a dict holding at least ``primary_metric`` and ``loss``.
    The epoch with the best dev score (:func:`is_better`) is saved with ``save_pretrained``
    (model + tokenizer + ``finetune_info.json``) atomically to ``out_dir``; one JSON line per epoch
    goes to ``history_path``; the selected epoch's dev metrics to ``dev_metrics_path``.
    Returns a flat summary of numbers (for tracking).
    """
    hp = resolve_hparams(hparams)
    device = device or select_device()
    use_bf16 = resolve_bf16(hp["bf16"], device)
    if not train_features:
        raise ValueError("no training examples")
    epochs = int(hp["epochs"])
    batch_size = int(hp["batch_size"])
    steps_per_epoch = math.ceil(len(train_features) / batch_size)
    objective = TaskLoss(_pad_id(tokenizer))
    batches = EpochBatches(
        [objective.length(f) for f in train_features], batch_size, torch.Generator().manual_seed(int(seed))
    )

    history, best, best_state, stopped_at = [], None, None, None
    start = time.perf_counter()
    epoch_sums = {"loss": 0.0, "examples": 0, "start": start}
    print(
        f"{console.label('fine-tuning')} {len(train_features)} examples, {epochs} epochs x {steps_per_epoch} steps, "
        f"batch {batch_size}, lr {hp['learning_rate']}, bf16 {use_bf16}, device {device}, "
        f"threads {torch.get_num_threads()}",
        flush=True,
    )

    def end_of_step(step: int, values: dict, examples: int, lr: float) -> bool:
        """Sum the epoch's loss; at the end of an epoch score dev, keep the best, maybe stop."""
        nonlocal best, best_state, stopped_at
        epoch_sums["loss"] += values["loss"] * examples
        epoch_sums["examples"] += examples
        if callback and hp["log_every"] and step % int(hp["log_every"]) == 0:
            callback(step, {"train_loss": values["loss"], "lr": lr})
        if not batches.epoch_done:
            return False
        epoch = batches.epoch
        train_seconds = time.perf_counter() - epoch_sums["start"]
        model.eval()
        with torch.no_grad():
            dev = evaluate_dev(model)
        seen = epoch_sums["examples"]
        record = {
            "epoch": epoch,
            "step": step,
            "train_loss": epoch_sums["loss"] / seen,
            "lr": lr,
            "epoch_seconds": train_seconds,
            "examples_per_s": seen / train_seconds if train_seconds else None,
            "elapsed_s": time.perf_counter() - start,
            **{f"dev_{k}": v for k, v in dev.items()},
        }
        selected = is_better(dev, best, primary_metric)
        if selected:
            best = dict(dev, epoch=epoch, step=step)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        record["selected"] = selected
        history.append(record)
        print(
            f"{console.label('fine-tuning')} epoch {epoch}/{epochs}: train loss {record['train_loss']:.4f}, "
            f"dev {primary_metric} {100 * dev[primary_metric]:.1f}, dev loss {dev.get('loss', float('nan')):.4f}, "
            f"{train_seconds:.1f}s, ETA {console.eta(epoch, epochs, record['elapsed_s'])}"
            f"{' (best so far)' if selected else ''}",
            flush=True,
        )
        if callback:
            callback(step, {k: v for k, v in record.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        if hp.get("patience") and epoch - best["epoch"] >= int(hp["patience"]) and epoch < epochs:
            stopped_at = epoch
            print(
                f"early stopping after epoch {epoch}: no better dev {primary_metric} for {hp['patience']} epochs",
                flush=True,
            )
            return True
        model.train()
        epoch_sums.update(loss=0.0, examples=0, start=time.perf_counter())
        return False

    run_training_loop(
        model,
        objective,
        train_features,
        steps=steps_per_epoch * epochs,
        batch_size=batch_size,
        learning_rate=float(hp["learning_rate"]),
        warmup_ratio=float(hp["warmup_ratio"]),
        weight_decay=float(hp["weight_decay"]),
        max_grad_norm=hp["max_grad_norm"],
        seed=int(seed),
        bf16=hp["bf16"],
        device=device,
        log_every=0,
        batcher=batches,
        on_step=end_of_step,
    )
    step = history[-1]["step"]

    model.load_state_dict(best_state)
    info = dict(info or {})
    info.update(
        {
            "seed": int(seed),
            "hparams": hp,
            "best_epoch": best["epoch"],
            "bf16": use_bf16,
            "epochs_run": len(history),
            "stopped_early": stopped_at is not None,
            "dev": {k: v for k, v in best.items() if k not in ("epoch", "step")},
        }
    )
    _write_outputs(
        model, tokenizer, hp, info, history, best, seed, primary_metric, out_dir, history_path, dev_metrics_path
    )
    return {
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "steps": step,
        "train_seconds": time.perf_counter() - start,
        **{f"dev_{k}": v for k, v in best.items() if k not in ("epoch", "step") and isinstance(v, (int, float))},
    }


def _write_outputs(
    model, tokenizer, hp, info, history, best, seed, primary_metric, out_dir, history_path, dev_metrics_path
) -> None:
    """The selected model (with ``finetune_info.json`` and its card), the history and the dev metrics."""
    from alignxfer.modelcard import finetuning_card

    # max_length: pipeline(truncation=True) cuts where training did
    save_model(
        model,
        tokenizer,
        out_dir,
        max_length=int(hp["max_length"]),
        card=finetuning_card(info),
        json_files={INFO_FILE: info},
    )
    with atomic_open(history_path) as handle:
        for record in history:
            handle.write(json.dumps(record) + "\n")
    write_json(
        dev_metrics_path,
        {
            "epoch": best["epoch"],
            "step": best["step"],
            "seed": int(seed),
            "primary_metric": primary_metric,
            "metrics": {k: v for k, v in best.items() if k not in ("epoch", "step")},
            **{k: v for k, v in info.items() if k in ("task", "n_train", "n_dev", "epochs_run", "stopped_early")},
        },
    )


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def read_info(model_dir) -> dict:
    path = Path(model_dir) / INFO_FILE
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
