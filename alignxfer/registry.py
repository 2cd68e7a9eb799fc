"""The plug-in registries: pre-training objectives and fine-tuned tasks, by config name.

A plug-in is one record: its name, an options dataclass (the one source of its option names and
defaults; the config schema is checked against it by ``tests/test_registry.py``), what the
workflow needs to plan it (whether an objective reads word alignments and which links; a task's
own fine-tuning hyperparameters, metrics and data), and its implementation class.

Planning the workflow reads only these records, so it never imports torch: the built-in plug-ins
(``alignxfer.objectives``, ``alignxfer.tasks``) name their class as ``"module:Class"``, imported by
:meth:`Spec.load` when a job needs it. A plug-in of one's own registers itself with the decorator
on its class, in any importable module listed under the config key ``plugins`` (the Snakefile and
every job import those modules before they resolve a name)::

    @dataclass(frozen=True)
    class ShuffleOptions:
        mask_prob: float = 0.15

    @register_objective("shuffled_mlm", options=ShuffleOptions)
    class ShuffledMLM(MLMObjective): ...

This module imports nothing heavy (no torch, no pandas).
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: where an objective's word links come from (rules/common.smk: alignment_files)
ALIGNMENT_LINKS = ("symmetrized", "intersection")
#: where a task's train/dev/test files come from: "corpus" (prepared from the study's corpus by
#: prepare_english/prepare_pair, test languages = the corpus's) or "dataset" (Hugging Face datasets
#: or local copies, rules prepare_task_*, test languages = tasks.<name>.languages)
TASK_DATA = ("corpus", "dataset")


@dataclass(frozen=True)
class NoOptions:
    """A plug-in without options."""


def option_key(field: dataclasses.Field) -> str:
    """The config key of an options field (``metadata={"key": ...}`` for names Python reserves, e.g. ``lambda``)."""
    return field.metadata.get("key", field.name)


def option_defaults(options: type) -> dict[str, Any]:
    """``{config key: default}`` of an options dataclass, in field order."""
    out = {}
    for field in dataclasses.fields(options):
        if field.default is not dataclasses.MISSING:
            out[option_key(field)] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            out[option_key(field)] = field.default_factory()
        else:
            raise TypeError(f"{options.__name__}.{field.name}: an option needs a default (the config may leave it out)")
    return out


def option_types(options: type) -> dict[str, Any]:
    """``{config key: annotation}`` of an options dataclass (for the schema of a plug-in's section)."""
    try:
        hints = typing.get_type_hints(options)
    except Exception:  # an annotation that does not resolve: fall back to the defaults' types
        hints = {}
    return {option_key(f): hints.get(f.name, type(f.default)) for f in dataclasses.fields(options)}


def _load(impl: str | type) -> type:
    if not isinstance(impl, str):
        return impl
    module, _, attr = impl.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class ObjectiveSpec:
    """A continued-pre-training arm (config ``pretraining.objectives`` entry, options ``pretraining.<name>``)."""

    name: str
    options: type
    impl: str | type
    #: which word links the loss reads (None: none; "symmetrized": alignment.symmetrization's
    #: links, "intersection": the intersection of both directions)
    alignments: str | None = None
    builtin: bool = False

    @property
    def needs_alignment(self) -> bool:
        return self.alignments is not None

    def defaults(self) -> dict[str, Any]:
        return option_defaults(self.options)

    def load(self) -> type:
        """The :class:`alignxfer.objectives.base.Objective` subclass (imports torch)."""
        return _load(self.impl)


@dataclass(frozen=True)
class TaskSpec:
    """A fine-tuned evaluation task (config ``tasks.<name>``)."""

    name: str
    #: the task's own fine-tuning hyperparameters, passed next to ``finetuning``'s (a non-null
    #: value wins over finetuning's); their defaults are the config's
    hparams: type
    impl: str | type
    primary_metric: str
    metric_names: tuple[str, ...]
    #: "corpus" or "dataset" (:data:`TASK_DATA`)
    data: str = "dataset"
    #: the task whose prepared files (``results/data/<task>/``) it reads; None: its own
    data_of: str | None = None
    #: classifies sentences or sentence pairs, as XNLI does (claims may judge XNLI's claim on it)
    classifies: bool = True
    builtin: bool = False

    def defaults(self) -> dict[str, Any]:
        return option_defaults(self.hparams)

    def hparam_keys(self) -> tuple[str, ...]:
        return tuple(self.defaults())

    @property
    def data_task(self) -> str:
        return self.data_of or self.name

    def load(self) -> type:
        """The :class:`alignxfer.tasks.base.Task` subclass (imports torch)."""
        return _load(self.impl)


#: config name -> record; filled by the built-ins' declarations and by plug-in modules
OBJECTIVES: dict[str, ObjectiveSpec] = {}
TASKS: dict[str, TaskSpec] = {}
#: names the config uses for other things (``base``: the base model itself, no continued pre-training;
#: ``retrieval``: the un-fine-tuned readout)
RESERVED = {"objective": ("base",), "task": ("retrieval",)}


def _add(table: dict, kind: str, spec) -> None:
    if not spec.name.isidentifier() or spec.name in RESERVED[kind]:
        raise ValueError(f"{kind} name {spec.name!r}: use a Python identifier other than {list(RESERVED[kind])}")
    old = table.get(spec.name)
    if old is not None and old.impl != spec.impl:
        raise ValueError(f"{kind} {spec.name!r} is registered twice ({old.impl} and {spec.impl}); rename one")
    option_defaults(spec.options if kind == "objective" else spec.hparams)  # every option has a default
    table[spec.name] = spec


def register_objective(
    name: str,
    *,
    options: type = NoOptions,
    alignments: str | None = None,
    impl: str | None = None,
    builtin: bool = False,
) -> Callable[[type], type] | type:
    """Register an objective: as a decorator on its class, or with ``impl="module:Class"`` (returns the spec)."""
    if alignments is not None and alignments not in ALIGNMENT_LINKS:
        raise ValueError(f"objective {name!r}: alignments {alignments!r} is not one of {ALIGNMENT_LINKS}")

    def decorate(cls: type) -> type:
        cls.name = name
        cls.options_type = options
        cls.needs_alignment = alignments is not None
        _add(OBJECTIVES, "objective", ObjectiveSpec(name, options, cls, alignments, builtin))
        return cls

    if impl is None:
        return decorate
    _add(OBJECTIVES, "objective", ObjectiveSpec(name, options, impl, alignments, builtin))
    return OBJECTIVES[name]


def register_task(
    name: str,
    *,
    primary_metric: str,
    metric_names: tuple[str, ...],
    hparams: type = NoOptions,
    data: str = "dataset",
    data_of: str | None = None,
    classifies: bool = True,
    impl: str | None = None,
    builtin: bool = False,
):
    """Register a task: as a decorator on its class, or with ``impl="module:Class"`` (returns the spec)."""
    if data not in TASK_DATA:
        raise ValueError(f"task {name!r}: data {data!r} is not one of {TASK_DATA}")
    if primary_metric not in metric_names:
        raise ValueError(f"task {name!r}: primary_metric {primary_metric!r} is not among metric_names {metric_names}")

    def spec(target):
        return TaskSpec(name, hparams, target, primary_metric, tuple(metric_names), data, data_of, classifies, builtin)

    def decorate(cls: type) -> type:
        cls.name = name
        _add(TASKS, "task", spec(cls))
        return cls

    if impl is None:
        return decorate
    _add(TASKS, "task", spec(impl))
    return TASKS[name]


def builtins() -> None:
    """Register the built-in plug-ins (light: their declarations, not their torch code)."""
    importlib.import_module("alignxfer.objectives")
    importlib.import_module("alignxfer.tasks")


class PluginError(ValueError):
    """A module of the config's ``plugins`` could not be imported."""


#: plug-in module -> the (kind, name) records its import registered
PLUGIN_RECORDS: dict[str, set[tuple[str, str]]] = {}


def load_plugins(modules) -> None:
    """Import the built-ins and every module of the config key ``plugins`` (which register themselves)."""
    builtins()
    for i, module in enumerate(modules or ()):
        before = {("objective", n) for n in OBJECTIVES} | {("task", n) for n in TASKS}
        try:
            importlib.import_module(module)
        except Exception as err:
            raise PluginError(
                f"plugins[{i}]: cannot import {module!r} ({type(err).__name__}: {err}); give an importable "
                "module (a dotted name on the Python path, e.g. mypackage.objectives) or remove it"
            ) from err
        after = {("objective", n) for n in OBJECTIVES} | {("task", n) for n in TASKS}
        PLUGIN_RECORDS.setdefault(module, set()).update(after - before)


def objective(name: str) -> ObjectiveSpec:
    builtins()
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise KeyError(
            f"unknown objective {name!r}; known: {sorted(OBJECTIVES)} (a plug-in must be listed "
            "under the config key plugins)"
        ) from None


def task(name: str) -> TaskSpec:
    builtins()
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(
            f"unknown task {name!r}; known tasks: {sorted(TASKS)} (a plug-in must be listed "
            "under the config key plugins)"
        ) from None


def zero_shot_rule(task_name: str) -> str:
    """The rule that scores ``task_name``'s English models on its test languages (one per task:
    its outputs list the task's languages); topic's keeps the plain name."""
    return "evaluate_zero_shot" if task_name == "topic" else f"evaluate_zero_shot_{task_name}"


# ---- the config schema of plug-ins that the schema file does not list


def _json_type(annotation) -> dict:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and args:
        names = [_json_type(arg).get("type", "null") for arg in args]
        return {"type": names} if all(isinstance(n, str) for n in names) else {}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    if annotation in simple:
        return {"type": simple[annotation]}
    if origin in (list, tuple) or annotation in (list, tuple):
        return {"type": "array"}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    return {}


def _options_schema(options: type) -> dict:
    types = option_types(options)
    props = {}
    for key, default in option_defaults(options).items():
        props[key] = {**_json_type(types[key]), "default": default}
    return {"type": "object", "additionalProperties": False, "default": {}, "properties": props}


def _dataset_properties() -> dict:
    """A dataset task's test languages, size cap and sources (as tasks.xnli's, without defaults)."""
    source = {"$ref": "#/definitions/task_source"}
    return {
        "languages": {"type": "array", "items": {"$ref": "#/definitions/lang"}, "uniqueItems": True, "default": []},
        "max_train_examples": {"type": ["integer", "null"], "minimum": 1, "default": None},
        **{part: source for part in ("train", "dev", "test", "translate_train", "translate_dev")},
    }


def _defined_in(spec, modules) -> bool:
    """Whether ``spec``'s class is defined in one of ``modules`` (or a module below one)."""
    where = spec.impl.partition(":")[0] if isinstance(spec.impl, str) else spec.impl.__module__
    return not spec.builtin and any(where == m or where.startswith(m + ".") for m in modules)


def extend_schema(schema: dict, plugins=None) -> dict:
    """Add what the modules ``plugins`` (loaded: :func:`load_plugins`) registered to the schema (the
    enum of objectives, a ``pretraining.<name>`` section of options, a ``tasks.<name>`` section);
    ``schema``, changed. Only the config's own plug-ins: another config validated in the same
    process gets none of them."""
    records = set().union(*(PLUGIN_RECORDS.get(m, set()) for m in plugins or ()))
    for kind, table in (("objective", OBJECTIVES), ("task", TASKS)):  # also those imported before validation
        records |= {(kind, name) for name, spec in table.items() if _defined_in(spec, plugins or ())}
    props = schema["properties"]
    pretraining = props["pretraining"]["properties"]
    enum = pretraining["objectives"]["items"]["enum"]
    for name in sorted(n for kind, n in records if kind == "objective"):
        if name not in enum:
            enum.append(name)
        pretraining.setdefault(name, _options_schema(OBJECTIVES[name].options))
    tasks = props["tasks"]["properties"]
    for name in sorted(n for kind, n in records if kind == "task"):
        spec = TASKS[name]
        if name in tasks:
            continue
        section = _options_schema(spec.hparams)
        section["properties"] = {
            "enabled": {"type": "boolean", "default": False},
            "settings": {"$ref": "#/definitions/task_settings", "default": ["zero_shot", "translate_train"]},
            **(_dataset_properties() if spec.data == "dataset" else {}),
            **section["properties"],
        }
        tasks[name] = section
    return schema
