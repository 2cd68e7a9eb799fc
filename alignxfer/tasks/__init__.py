"""Evaluation tasks as plug-ins: ``TASKS`` maps a task name to its :class:`~alignxfer.tasks.base.Task` class.

A fine-tuned task subclasses ``Task`` in its own module, reuses
:func:`alignxfer.tasks.base.train_with_dev_selection` for the loop, and registers here: ``topic``
(Debian package descriptions), ``xnli`` (sentence-pair classification) and ``mlqa`` (extractive
QA). Tasks whose data come from Hugging Face datasets also implement ``label_names`` and
``records_from_rows`` for :func:`alignxfer.tasks.hub.prepare_task_data`.
Retrieval needs no fine-tuning and is a plain function: :func:`alignxfer.tasks.retrieval.evaluate_retrieval`.
"""

from __future__ import annotations

from alignxfer.config import DATASET_TASKS
from alignxfer.tasks.base import Task
from alignxfer.tasks.mlqa import MlqaTask
from alignxfer.tasks.topic import TopicTask
from alignxfer.tasks.xnli import XnliTask

TASKS: dict[str, type[Task]] = {
    TopicTask.name: TopicTask,
    XnliTask.name: XnliTask,
    MlqaTask.name: MlqaTask,
}

#: tasks whose data are prepared from Hugging Face datasets (config ``tasks.<name>``)
HUB_TASKS = DATASET_TASKS
assert set(HUB_TASKS) <= set(TASKS)


def get_task(name: str) -> Task:
    """An instance of the task plug-in called ``name``."""
    try:
        return TASKS[name]()
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {sorted(TASKS)}") from None


def primary_metric(name: str, default: str | None = None) -> str | None:
    """The metric a task's tables and claims use (``accuracy`` for topic)."""
    cls = TASKS.get(name)
    return cls.primary_metric if cls else default


__all__ = ["HUB_TASKS", "TASKS", "Task", "get_task", "primary_metric"]
