"""The contract every pre-training arm implements (the training loop knows nothing else).

An objective turns a list of examples into a batch of CPU tensors (:meth:`Objective.collate`,
deterministic given the generator it receives) and a batch into a scalar loss plus named
components (:meth:`Objective.loss`). The loop handles everything else: order, devices, bf16,
accumulation, clipping, schedules, checkpoints and logging.
"""

from __future__ import annotations

import torch

from ..data import PairExample, Specials, count_tokens
from ..registry import NoOptions, option_defaults


class Objective:
    #: registry name (config ``pretraining.objectives`` entry)
    name: str = ""
    #: whether examples must carry word alignments
    needs_alignment: bool = False
    #: names of the loss components reported as ``loss_<name>`` in the history
    components: tuple = ()
    #: the options dataclass: option names and their defaults (alignxfer.objectives declares it;
    #: the config schema holds the same defaults)
    options_type: type = NoOptions

    @classmethod
    def defaults(cls) -> dict:
        """``{option: default}`` from :attr:`options_type`."""
        return option_defaults(cls.options_type)

    def __init__(self, options: dict | None, specials: Specials, max_length: int):
        options = dict(options or {})
        defaults = self.defaults()
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise ValueError(f"objective {self.name!r}: unknown option(s) {unknown}; allowed: {sorted(defaults)}")
        self.options = {**defaults, **options}
        self.specials = specials
        self.max_length = int(max_length)

    # the loop calls these -------------------------------------------------------------------

    def setup(self, model, device: torch.device) -> None:
        """Called once with the initial model (before any resume), e.g. to keep a frozen copy."""

    def length(self, example) -> int:
        """The length used for bucketing."""
        if isinstance(example, PairExample):
            return len(example)
        return len(example)

    def collate(self, examples: list, generator: torch.Generator) -> dict:
        raise NotImplementedError

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict]:
        """Return (loss, {component: detached tensor or float})."""
        raise NotImplementedError

    def tokens(self, batch: dict) -> int:
        """Tokens fed through the trained encoder for this batch (for tokens/s)."""
        return sum(count_tokens(v) for v in batch.values() if isinstance(v, dict) and "attention_mask" in v)

    def check_model(self, model) -> None:
        """Fail early when the model cannot take this objective's inputs."""
        max_pos = getattr(model.config, "max_position_embeddings", None)
        if max_pos is not None and self.max_length > max_pos:
            raise ValueError(
                f"objective {self.name!r}: max_length {self.max_length} exceeds the model's "
                f"max_position_embeddings {max_pos}"
            )
