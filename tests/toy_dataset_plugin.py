"""A toy dataset task (data from Hugging Face datasets or local copies, like xnli) registered from this module alone."""

from __future__ import annotations

from dataclasses import dataclass

from alignxfer.registry import register_task
from alignxfer.tasks.xnli import XnliTask


@dataclass(frozen=True)
class PawsHparams:
    max_length: int | None = None


@register_task(
    "paws_toy", primary_metric="accuracy", metric_names=("accuracy", "macro_f1"), hparams=PawsHparams, data="dataset"
)
class PawsToyTask(XnliTask):
    pass
