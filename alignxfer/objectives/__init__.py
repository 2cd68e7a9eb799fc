"""The continued-pre-training arms: one module per arm with one loss, declared here.

Each declaration is the arm's record in :data:`alignxfer.registry.OBJECTIVES`: its options
dataclass (the one source of the option names and defaults; ``tests/test_registry.py`` checks the
config schema against it), which word links it reads, and its class, named as ``"module:Class"``
so that planning the workflow reads these records without importing torch.

Adding an arm in this package: write ``objectives/<name>.py`` with a subclass of
:class:`~.base.Objective` (``collate`` + ``loss``; ``options_type`` the dataclass below) and a
declaration here, and add its options to ``schemas/config.schema.yaml``. An arm outside the
package registers itself with ``@register_objective`` in a module listed under the config key
``plugins`` (see :mod:`alignxfer.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alignxfer.registry import OBJECTIVES, register_objective


@dataclass(frozen=True)
class MaskOptions:
    """MLM on each side of a pair as independent sentences (also the from-scratch base's MLM)."""

    mask_prob: float = 0.15


@dataclass(frozen=True)
class TLMOptions:
    mask_prob: float = 0.15
    reset_positions: bool = True


@dataclass(frozen=True)
class WEAMOptions:
    mask_prob: float = 0.15
    lambda_: float = field(default=1.0, metadata={"key": "lambda"})
    swap_layer: int = -1
    subword_mapping: str = "first"


@dataclass(frozen=True)
class WordAlignedOptions:
    anchor_weight: float = 1.0


@dataclass(frozen=True)
class ContrastiveOptions:
    margin: float = 0.3
    scale: float = 20.0
    pooling: str = "mean"
    mlm_weight: float = 1.0
    mask_prob: float = 0.15


_HERE = __name__
register_objective("mlm", options=MaskOptions, impl=f"{_HERE}.mlm:MLMObjective", builtin=True)
register_objective("tlm", options=TLMOptions, impl=f"{_HERE}.tlm:TLMObjective", builtin=True)
register_objective(
    "weam", options=WEAMOptions, alignments="symmetrized", impl=f"{_HERE}.weam:WEAMObjective", builtin=True
)
# Cao et al.: the intersection of both directions
register_objective(
    "word_aligned",
    options=WordAlignedOptions,
    alignments="intersection",
    impl=f"{_HERE}.word_aligned:WordAlignedObjective",
    builtin=True,
)
register_objective(
    "contrastive", options=ContrastiveOptions, impl=f"{_HERE}.contrastive:ContrastiveObjective", builtin=True
)

_LAZY = {"Objective": ".base", "SentenceMLM": ".mlm"}


def __getattr__(name: str):
    """``Objective`` and ``SentenceMLM`` on first use (they import torch; the records above do not)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OBJECTIVES",
    "ContrastiveOptions",
    "MaskOptions",
    "Objective",
    "SentenceMLM",
    "TLMOptions",
    "WEAMOptions",
    "WordAlignedOptions",
]
