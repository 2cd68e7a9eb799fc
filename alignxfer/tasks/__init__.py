"""The fine-tuned evaluation tasks, declared here: each is a record of :data:`alignxfer.registry.TASKS`.

A record holds the task's own fine-tuning hyperparameters (a dataclass: the one source of their
names and defaults, passed next to ``finetuning``'s), its metrics, where its data come from and its
:class:`~alignxfer.tasks.base.Task` subclass as ``"module:Class"`` (planning and the report layer
read the records without importing torch). Built in: ``topic`` (Debian package descriptions),
``xnli`` (sentence-pair classification) and ``mlqa`` (extractive QA). Tasks whose data come from
Hugging Face datasets also implement ``label_names`` and ``records_from_rows`` for
:func:`alignxfer.tasks.hub.prepare_task_data`. A task outside the package registers itself with
``@register_task`` in a module listed under the config key ``plugins`` (:mod:`alignxfer.registry`).
Retrieval needs no fine-tuning and is a plain function: :func:`alignxfer.tasks.retrieval.evaluate_retrieval`.
"""

from __future__ import annotations

from dataclasses import dataclass

from alignxfer.registry import TASKS as SPECS
from alignxfer.registry import NoOptions, register_task


@dataclass(frozen=True)
class XnliHparams:
    max_length: int | None = None  # null: finetuning.max_length


@dataclass(frozen=True)
class MlqaHparams:
    max_length: int | None = None  # null: finetuning.max_length
    doc_stride: int = 128  # overlap of context windows, tokens
    max_query_length: int = 64
    max_answer_length: int = 30
    n_best: int = 20


_CLASSIFY = ("accuracy", "macro_f1")
register_task(
    "topic",
    primary_metric="accuracy",
    metric_names=_CLASSIFY,
    hparams=NoOptions,
    data="corpus",
    impl="alignxfer.tasks.topic:TopicTask",
    builtin=True,
)
register_task(
    "xnli",
    primary_metric="accuracy",
    metric_names=_CLASSIFY,
    hparams=XnliHparams,
    data="dataset",
    impl="alignxfer.tasks.xnli:XnliTask",
    builtin=True,
)
register_task(
    "mlqa",
    primary_metric="f1",
    metric_names=("f1", "exact_match"),
    hparams=MlqaHparams,
    data="dataset",
    classifies=False,
    impl="alignxfer.tasks.mlqa:MlqaTask",
    builtin=True,
)


#: task name -> its record (every registered task, plug-ins included; ``.load()`` gives the class)
TASKS = SPECS


def hub_tasks() -> tuple[str, ...]:
    """Tasks whose data are prepared from Hugging Face datasets or local copies (config ``tasks.<name>``)."""
    return tuple(name for name, spec in SPECS.items() if spec.data == "dataset")


def get_task(name: str):
    """An instance of the task plug-in called ``name``."""
    if name not in SPECS:
        raise KeyError(f"unknown task {name!r}; known tasks: {sorted(SPECS)}")
    return SPECS[name].load()()


def primary_metric(name: str, default: str | None = None) -> str | None:
    """The metric a task's tables and claims use (``accuracy`` for topic)."""
    spec = SPECS.get(name)
    return spec.primary_metric if spec else default


def __getattr__(name: str):
    if name == "Task":
        from alignxfer.tasks.base import Task

        return Task
    if name == "HUB_TASKS":
        return hub_tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HUB_TASKS", "TASKS", "Task", "get_task", "hub_tasks", "primary_metric"]
