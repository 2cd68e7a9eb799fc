"""Evaluation tasks as plug-ins: ``TASKS`` maps a task name to its :class:`~alignxfer.tasks.base.Task` class.

A new fine-tuned task (XNLI, MLQA) subclasses ``Task`` in its own module, reuses
:func:`alignxfer.tasks.base.train_with_dev_selection` for the loop, and registers here.
Retrieval needs no fine-tuning and is a plain function: :func:`alignxfer.tasks.retrieval.evaluate_retrieval`.
"""

from __future__ import annotations

from alignxfer.tasks.base import Task
from alignxfer.tasks.topic import TopicTask

TASKS: dict[str, type[Task]] = {
    TopicTask.name: TopicTask,
}


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


__all__ = ["TASKS", "Task", "get_task", "primary_metric"]
