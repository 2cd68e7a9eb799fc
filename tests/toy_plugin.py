"""A toy objective and a toy task that register themselves from this module alone.

The workflow picks them up from the config key ``plugins: [tests.toy_plugin]`` (tests/test_registry.py):
no file of the package, the schema or the rules names them.

* ``target_mlm``: masked language modelling on the non-English side of each pair only, with its
  own default mask rate (``pretraining.target_mlm.mask_prob``).
* ``topic_short``: the topic task (it reads topic's prepared files) fine-tuned and tested on the
  first ``max_length`` tokens of each document, a task hyperparameter that wins over
  ``finetuning.max_length``.
"""

from __future__ import annotations

from dataclasses import dataclass

from alignxfer.modeling import mean_of
from alignxfer.objectives.base import Objective
from alignxfer.objectives.mlm import masked_side, side_loss_sum
from alignxfer.registry import register_objective, register_task
from alignxfer.tasks.topic import TopicTask


@dataclass(frozen=True)
class TargetMLMOptions:
    mask_prob: float = 0.25


@register_objective("target_mlm", options=TargetMLMOptions)
class TargetMLM(Objective):
    def collate(self, examples, generator):
        return {"y": masked_side([e.tgt for e in examples], self.specials, self.options["mask_prob"], generator)}

    def loss(self, model, batch):
        total, count = side_loss_sum(model, batch["y"])
        return mean_of(total, count), {}


@dataclass(frozen=True)
class ShortTopicHparams:
    max_length: int | None = 12


@register_task(
    "topic_short",
    primary_metric="accuracy",
    metric_names=("accuracy", "macro_f1"),
    hparams=ShortTopicHparams,
    data="corpus",
    data_of="topic",
)
class ShortTopicTask(TopicTask):
    pass
