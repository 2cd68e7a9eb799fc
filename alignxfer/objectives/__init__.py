"""The continued-pre-training arms. Each arm is one module with one loss and one entry below.

Adding an arm: write ``objectives/<name>.py`` with a subclass of :class:`~.base.Objective`
(``collate`` + ``loss``, its ``defaults`` and ``needs_alignment``), register it in ``OBJECTIVES``,
and add its options to ``config.yaml`` / ``schemas/config.schema.yaml``.
"""

from __future__ import annotations

from .base import Objective
from .contrastive import ContrastiveObjective
from .mlm import MLMObjective, SentenceMLM
from .tlm import TLMObjective
from .weam import WEAMObjective
from .word_aligned import WordAlignedObjective

#: registry: config name -> objective class (each has ``needs_alignment``)
OBJECTIVES = {
    "mlm": MLMObjective,
    "tlm": TLMObjective,
    "weam": WEAMObjective,
    "word_aligned": WordAlignedObjective,
    "contrastive": ContrastiveObjective,
}

__all__ = ["OBJECTIVES", "Objective", "SentenceMLM"]
