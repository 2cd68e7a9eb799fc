"""The base model and the continued-pre-training arms, all trained by one loop (:func:`train`).

Public entry points (bound to the workflow's rules by ``workflow_scripts/``):

* :func:`pretrain_base` -- ``base.source: scratch``: a small BERT trained from scratch with MLM on
  both sides of every pair, each side an independent sentence (exact duplicates removed), or
  (``base.training.objective: contrastive``) MLM plus translation ranking on the pairs.
* :func:`load_base` -- ``base.source: pretrained``: copy a Hugging Face masked-LM + tokenizer.
* :func:`continue_pretraining` -- one arm of ``alignxfer.registry.OBJECTIVES`` from the base.

The loop (:func:`alignxfer.training.loop.train`, shared pieces in :mod:`alignxfer.training`): AdamW (no weight decay on biases and LayerNorm weights), linear warmup then linear
decay to 0, gradient accumulation (``batch_size`` is the micro-batch of one forward pass; one
optimizer step consumes ``gradient_accumulation`` of them), gradient-norm clipping, bf16 autocast
where the hardware runs it natively (``bf16="auto"``), the MLM head applied only at predicted
positions, length-bucketed dynamic padding (``data.BucketBatcher``), the first CUDA device if any
-- or, with ``devices`` (two or more), data-parallel training with one process per device that
shares out the micro-batches of every step (``alignxfer.parallel``; same steps, batches and masks
as one device).

Reproducibility: torch is seeded before the model is built; the data order and every masking
decision derive statelessly from ``(seed, epoch)`` / ``(seed, step, micro-batch)``; dropout draws
from torch's global generator, whose state is checkpointed. A checkpoint (model, optimizer,
scheduler, RNG states, data position, step, history so far) is written atomically into
``checkpoint_dir`` every ``checkpoint_every`` steps; a later call with the same settings resumes
from the newest one and ends with bit-identical weights to an uninterrupted run. A checkpoint
written under different settings (fingerprint mismatch) is ignored and replaced. Checkpoints are
removed once the final model is saved (``keep_checkpoints=False``).
"""

from __future__ import annotations

import hashlib

import torch

from . import data as D
from . import registry
from .modeling import build_scratch_model, count_parameters, load_mlm
from .objectives.mlm import SentenceMLM
from .training.checkpoints import remove_checkpoints
from .training.loop import train
from .training.optim import optimisation_settings
from .training.runtime import set_threads
from .training.saving import save_model

__all__ = ["arm_data_seed", "continue_pretraining", "load_base", "pretrain_base", "train", "write_heldout_check"]


# --------------------------------------------------------------------------------------------
# public entry points


def _save_model(model, tokenizer, out_dir, card: dict | None = None) -> None:
    """Save model and tokenizer (``model_max_length`` = the position embeddings) and a model card."""
    save_model(model, tokenizer, out_dir, max_length=getattr(model.config, "max_position_embeddings", None), card=card)


def _base_objective(training: dict) -> str:
    """``base.training.objective`` (``mlm`` when absent)."""
    return training.get("objective", "mlm")


def _split(heldout: dict | None) -> dict | None:
    """The :func:`alignxfer.data.pretrain_part` split of ``pretraining.heldout`` (None: no split)."""
    if not heldout:
        return None
    return {"fraction": float(heldout.get("fraction", 0.05)), "arm_fraction": float(heldout.get("arm_fraction", 0.3))}


def arm_data_seed(seed: int) -> int:
    """The arms' data order and masks: derived from the pre-training seed, so that an arm does not
    replay the base's batches (the base uses ``seed`` itself); shared by every arm of one
    pre-training seed (a paired design: the arms differ only by their objective)."""
    return int.from_bytes(hashlib.sha256(f"arms\x1f{int(seed)}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def _setup_base(
    tokenized_dirs,
    tokenizer_dir,
    architecture: dict,
    training: dict,
    seed: int,
    train_kwargs: dict,
    split_seed: int = 0,
    split: dict | None = None,
) -> dict:
    """Tokenizer, model, objective and sentences of :func:`pretrain_base` (every rank calls it)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    specials = D.Specials.from_tokenizer(tokenizer)
    max_length = int(training["max_length"])
    mask_prob = training.get("mask_prob", 0.15)
    kind = _base_objective(training)
    optimisation = optimisation_settings(training)
    dirs = sorted(map(str, tokenized_dirs))
    part = "base" if split else None
    if kind == "mlm":
        examples = D.load_sentences(dirs, max_length, part=part, split_seed=split_seed, split=split)
        objective = SentenceMLM({"mask_prob": mask_prob}, specials, max_length)
    elif kind == "contrastive":
        # MLM on both sides of each pair + translation ranking of the pair's sentence vectors;
        # batch_size still counts sentences (two per pair): the same tokens per step as `mlm`
        if optimisation["batch_size"] % 2:
            raise ValueError(
                f"base.training.batch_size must be even with base.training.objective 'contrastive' "
                f"(it counts sentences, two per pair), got {optimisation['batch_size']}"
            )
        optimisation["batch_size"] //= 2
        options = {**dict(training.get("contrastive") or {}), "mask_prob": mask_prob}
        objective = registry.objective("contrastive").load()(options, specials, max_length)
        examples = load_pair_examples(
            objective,
            {f"{i:04d}": d for i, d in enumerate(dirs)},
            None,
            max_length,
            part=part,
            split_seed=split_seed,
            split=split,
        )
    else:
        raise ValueError(f"base.training.objective must be 'mlm' or 'contrastive', got {kind!r}")
    torch.manual_seed(seed)
    model = build_scratch_model(architecture, tokenizer)
    return {
        "tokenizer": tokenizer,
        "model": model,
        "objective": objective,
        "examples": examples,
        "train": {
            **optimisation,
            "seed": seed,
            "settings": {
                "stage": "base",
                "architecture": architecture,
                "max_length": max_length,
                "objective": kind,
                "split": split,
            },
            "label": "base",
            **train_kwargs,
        },
    }


_CARD_KEYS = (
    "steps",
    "batch_size",
    "gradient_accumulation",
    "learning_rate",
    "warmup_ratio",
    "weight_decay",
    "max_grad_norm",
)


def _train_and_save(
    setup, args: tuple, out_dir, *, device, devices, threads, callback, checkpoint_dir, keep_checkpoints: bool
) -> dict:
    """Run ``setup(*args)``, train on one device or on ``devices`` (two or more) data-parallel,
    save the model and tokenizer to ``out_dir`` and tidy the checkpoints; returns the summary."""
    if devices is not None and len(devices) >= 2:
        from . import parallel

        per_rank = max(1, int(threads) // len(devices)) if threads else None
        summary, prepared = parallel.run(setup, args, devices=list(devices), callback=callback, threads=per_rank)
    else:
        if devices is not None and len(devices) == 1:
            device = devices[0]
        set_threads(threads)
        prepared = setup(*args)
        summary = train(
            prepared["model"],
            prepared["objective"],
            prepared["examples"],
            **prepared["train"],
            device=device,
            callback=callback,
        )
    from .modelcard import pretraining_card

    train_settings = prepared["train"]
    card = pretraining_card(
        train_settings["settings"],
        {k: train_settings.get(k) for k in _CARD_KEYS},
        summary,
        train_settings["seed"],
        base_dir=prepared.get("base_dir"),
    )
    _save_model(prepared["model"].cpu(), prepared["tokenizer"], out_dir, card=card)
    remove_checkpoints(checkpoint_dir, keep_checkpoints)
    return summary


def _loop_kwargs(bf16, checkpoint_dir, checkpoint_every, history_path, log_every) -> dict:
    """The keyword arguments of :func:`train` that both entry points pass through unchanged."""
    return {
        "bf16": bf16,
        "checkpoint_dir": checkpoint_dir,
        "checkpoint_every": checkpoint_every,
        "history_path": history_path,
        "log_every": log_every,
    }


def pretrain_base(
    tokenized_dirs: list,
    tokenizer_dir,
    out_dir,
    history_path,
    architecture: dict,
    training: dict,
    seed: int,
    bf16="auto",
    checkpoint_dir=None,
    checkpoint_every: int = 0,
    threads=None,
    callback=None,
    *,
    log_every: int = 10,
    device=None,
    devices=None,
    keep_checkpoints: bool = False,
    heldout: dict | None = None,
    heldout_path=None,
    split_seed: int | None = None,
) -> dict:
    """Train the base model from scratch (``base.source: scratch``) and save it to ``out_dir``.

    ``training["objective"]``:

    * ``mlm`` (mBERT's recipe): MLM (BERT 80/10/10 at ``training["mask_prob"]``) on both sides of
      every pair of ``tokenized_dirs``, each side an independent sentence (exact duplicates
      dropped), truncated to ``training["max_length"]`` tokens including ``[CLS]``/``[SEP]``.
    * ``contrastive`` (the default study's): the same MLM on both sides of every pair plus the
      translation-ranking loss of :mod:`alignxfer.objectives.contrastive` on the pair's sentence
      vectors (options from ``training["contrastive"]``); ``batch_size`` still counts sentences,
      so a step holds ``batch_size / 2`` pairs and about as many tokens as with ``mlm``. Why: a
      model trained for minutes with MLM alone has no cross-lingual transfer to measure (see
      docs/architecture.md, "The default base model").

    ``training``: objective, steps, batch_size, max_length, learning_rate, warmup_ratio,
    weight_decay, mask_prob (and optionally gradient_accumulation, max_grad_norm, contrastive). Saves a ``BertForMaskedLM`` (safetensors)
    and the tokenizer. ``devices`` (two or more, e.g. ``["cuda:0", "cuda:1"]``): data-parallel
    training, one process per device (:mod:`alignxfer.parallel`); ``threads`` is then shared
    among the processes.
    """
    loop = _loop_kwargs(bf16, checkpoint_dir, checkpoint_every, history_path, log_every)
    split = _split(heldout)
    split_seed = seed if split_seed is None else split_seed
    summary = _train_and_save(
        _setup_base,
        (tokenized_dirs, tokenizer_dir, architecture, training, seed, loop, split_seed, split),
        out_dir,
        device=device,
        devices=devices,
        threads=threads,
        callback=callback,
        checkpoint_dir=checkpoint_dir,
        keep_checkpoints=keep_checkpoints,
    )
    summary["pairs" if _base_objective(training) == "contrastive" else "sentences"] = summary.pop("examples")
    summary["objective"] = "base"
    if heldout_path is not None and split:
        dirs = {f"{i:04d}": d for i, d in enumerate(sorted(map(str, tokenized_dirs)))}
        check = write_heldout_check(
            "base",
            None,
            out_dir,
            dirs,
            None,
            int(training["max_length"]),
            split_seed,
            heldout,
            heldout_path,
            seed,
            threads,
        )
        summary.update({f"heldout_{k}": v for k, v in check["after"].items() if isinstance(v, float)})
    return summary


def write_heldout_check(
    job: str,
    base_dir,
    model_dir,
    tokenized_dirs: dict,
    check_alignments: dict | None,
    max_length: int,
    split_seed: int,
    heldout: dict,
    path,
    pretrain_seed: int,
    threads=None,
) -> dict:
    """Score the saved model in ``model_dir`` (and, for an arm, the base in ``base_dir``) on the
    held-out pairs and write ``path`` (see :mod:`alignxfer.heldout`); returns what was written."""
    from transformers import AutoTokenizer

    from . import heldout as H
    from .io import write_json

    set_threads(threads)
    split = _split(heldout)
    max_pairs = int(heldout.get("max_pairs", 128))
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    specials = D.Specials.from_tokenizer(tokenizer)
    pairs = H.heldout_examples(tokenized_dirs, None, max_length, split_seed, split, max_pairs)
    check_alignments = check_alignments or {}
    sym = inter = None
    if check_alignments.get("symmetrized"):
        sym = H.heldout_examples(
            tokenized_dirs, check_alignments["symmetrized"], max_length, split_seed, split, max_pairs
        )
    if check_alignments.get("intersection"):
        inter = H.heldout_examples(
            tokenized_dirs,
            check_alignments["intersection"],
            max_length,
            split_seed,
            split,
            max_pairs,
            link_filter=D.one_to_one,
        )
    unigram = H.base_unigram(tokenized_dirs.values(), split_seed, split)
    vocab = len(tokenizer)
    result = {
        "objective": job,
        "pretrain_seed": int(pretrain_seed),
        "split_seed": int(split_seed),
        "heldout": {**split, "max_pairs": max_pairs},
        "pairs": len(pairs),
    }
    if not pairs:
        raise ValueError(
            f"no held-out pre-training pairs (pretraining.heldout.fraction {split['fraction']}); raise the "
            "fraction or the number of pre-training pairs"
        )
    before = None
    if base_dir is not None:
        before = H.check_model(load_mlm(base_dir), specials, pairs, sym, inter, unigram, vocab)
        result["before"] = before
    after = H.check_model(load_mlm(model_dir), specials, pairs, sym, inter, unigram, vocab)
    result["after"] = after
    result["mechanism"] = H.judge(job, before, after)
    write_json(path, result)
    return result


def load_base(name_or_path, out_dir, revision=None) -> dict:
    """Copy a pretrained masked-LM and its tokenizer (``base.source: pretrained``; a hub id at
    ``revision``, or a local folder) to ``out_dir``."""
    from transformers import AutoTokenizer

    extra = {"revision": revision} if revision else {}
    tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), **extra)
    D.Specials.from_tokenizer(tokenizer)
    model = load_mlm(name_or_path, **extra)
    card = {
        "kind": "masked_lm",
        "title": f"alignxfer base model: {name_or_path}",
        "stage": "base",
        "objective": "pretrained",
        "base_model": str(name_or_path),
        "base_text": f"The pretrained model `{name_or_path}`"
        + (f" at revision `{revision}`" if revision else "")
        + ", copied unchanged.",
        "objective_text": "None in this workflow (the model's own pre-training).",
        "data_text": "Not trained by this workflow.",
    }
    _save_model(model, tokenizer, out_dir, card=card)
    return {
        "parameters": count_parameters(model),
        "vocab_size": len(tokenizer),
        "num_hidden_layers": getattr(model.config, "num_hidden_layers", None),
        "hidden_size": getattr(model.config, "hidden_size", None),
        "model_type": model.config.model_type,
    }


def load_pair_examples(
    objective,
    tokenized_dirs: dict,
    alignment_paths: dict | None,
    max_length: int,
    part=None,
    split_seed: int = 0,
    split: dict | None = None,
) -> list:
    """Every pair of every language (languages in sorted order), as the objective needs them
    (``part``: only that :func:`alignxfer.data.pretrain_part`)."""
    examples = []
    for lang in sorted(tokenized_dirs):
        align = None
        if objective.needs_alignment:
            if not alignment_paths or lang not in alignment_paths:
                raise ValueError(f"objective {objective.name!r} needs word alignments but none was given for {lang!r}")
            align = alignment_paths[lang]
        examples.extend(
            D.load_pairs(
                tokenized_dirs[lang],
                align,
                max_length=max_length,
                link_filter=getattr(objective, "link_filter", None),
                part=part,
                split_seed=split_seed,
                split=split,
            )
        )
    return examples


def _setup_arm(
    objective: str,
    base_dir,
    tokenized_dirs: dict,
    alignment_paths,
    budget: dict,
    options: dict,
    seed: int,
    train_kwargs: dict,
    split_seed: int = 0,
    split: dict | None = None,
) -> dict:
    """Tokenizer, model, objective and pairs of :func:`continue_pretraining` (every rank calls it)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    specials = D.Specials.from_tokenizer(tokenizer)
    max_length = int(budget["max_length"])
    arm = registry.objective(objective).load()(options, specials, max_length)
    # with a split: the arms' own pool (never seen by the base) in their own order and masks
    part = "arm" if split else None
    examples = load_pair_examples(
        arm, tokenized_dirs, alignment_paths, max_length, part=part, split_seed=split_seed, split=split
    )
    torch.manual_seed(seed)
    model = load_mlm(base_dir)
    return {
        "tokenizer": tokenizer,
        "model": model,
        "base_dir": str(base_dir),
        "objective": arm,
        "examples": examples,
        "train": {
            **optimisation_settings(budget),
            "seed": arm_data_seed(seed) if split else seed,
            "settings": {
                "stage": objective,
                "languages": sorted(tokenized_dirs),
                "max_length": max_length,
                "split": split,
                "pretrain_seed": seed,
            },
            "label": objective,
            **train_kwargs,
        },
    }


def continue_pretraining(
    objective: str,
    base_dir,
    tokenized_dirs: dict,
    alignment_paths: dict | None,
    out_dir,
    history_path,
    budget: dict,
    options: dict,
    seed: int,
    bf16="auto",
    checkpoint_dir=None,
    checkpoint_every: int = 0,
    threads=None,
    callback=None,
    *,
    log_every: int = 10,
    device=None,
    devices=None,
    keep_checkpoints: bool = False,
    heldout: dict | None = None,
    heldout_path=None,
    split_seed: int | None = None,
    check_alignments: dict | None = None,
) -> dict:
    """Continue pre-training the base model in ``base_dir`` with one arm; save to ``out_dir``.

    ``tokenized_dirs`` / ``alignment_paths``: {lang: path}; ``budget``: steps, batch_size (pairs
    per forward pass), max_length (per side, ``[CLS]``/``[SEP]`` included), learning_rate,
    warmup_ratio, weight_decay, gradient_accumulation, max_grad_norm; ``options``: the arm's
    section of ``config["pretraining"]``. ``devices``: as in :func:`pretrain_base`.

    ``heldout`` (``pretraining.heldout``): the arm trains on the ``arm`` part of the bitext (never
    seen by the base), in the order and masks of :func:`arm_data_seed`; with ``heldout_path`` the
    held-out check of the base and of the arm is written there (``check_alignments``:
    {"symmetrized": {lang: file}, "intersection": {lang: file}} for the alignment measures).
    ``split_seed``: the study seed that draws the parts (default ``seed``).
    """
    registry.builtins()
    if objective not in registry.OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; known: {sorted(registry.OBJECTIVES)}")
    loop = _loop_kwargs(bf16, checkpoint_dir, checkpoint_every, history_path, log_every)
    split = _split(heldout)
    split_seed = seed if split_seed is None else split_seed
    summary = _train_and_save(
        _setup_arm,
        (objective, base_dir, tokenized_dirs, alignment_paths, budget, options, seed, loop, split_seed, split),
        out_dir,
        device=device,
        devices=devices,
        threads=threads,
        callback=callback,
        checkpoint_dir=checkpoint_dir,
        keep_checkpoints=keep_checkpoints,
    )
    summary["pairs"] = summary.pop("examples")
    summary["pretrain_seed"] = int(seed)
    if heldout_path is not None and split:
        check = write_heldout_check(
            objective,
            base_dir,
            out_dir,
            tokenized_dirs,
            check_alignments,
            int(budget["max_length"]),
            split_seed,
            heldout,
            heldout_path,
            seed,
            threads,
        )
        summary.update({f"heldout_{k}": v for k, v in check["after"].items() if isinstance(v, float)})
        summary["heldout_learned"] = float(bool(check["mechanism"]["learned"]))
    return summary
