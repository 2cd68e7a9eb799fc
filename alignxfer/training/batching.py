"""Length-bucketed batches: similar lengths in a batch (little padding), a random batch order.

Two forms, kept apart because each is part of its stage's results (changing either changes the
batches, hence every number downstream):

* :class:`BucketBatcher` (pre-training): an endless, resumable stream of steps; numpy's generator
  seeded by ``(seed, epoch)``; the one incomplete batch of an epoch is dropped, so every step has
  a full batch.
* :func:`length_bucketed_batches` (fine-tuning): one epoch at a time from a torch generator the
  caller carries across epochs; every example is used every epoch (the last batch may be short).
  :class:`EpochBatches` serves it to the training loop as a step stream that knows its epochs.

:func:`sorted_batches`: evaluation batches in length order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: batches are formed from pools of ``BUCKET_POOL`` batches sorted by length
BUCKET_POOL = 50


class BucketBatcher:
    """Deterministic length-bucketed batches.

    Epoch ``e``: shuffle all examples with a generator seeded by ``(seed, e)``, cut the order into
    pools of ``BUCKET_POOL`` batches, sort each pool by length, cut it into batches of
    ``batch_size``, and shuffle the batch order. Batches thus hold similar lengths (little padding)
    while their order stays random. When there are at least ``batch_size`` examples, the one
    incomplete batch of an epoch is dropped (its examples come back in later epochs), so every
    step sees a full batch. The position in the stream is ``(epoch, index)``.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, pool: int = BUCKET_POOL):
        if len(lengths) == 0:
            raise ValueError("no training examples")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.pool = int(pool)
        self.epoch = 0
        self.index = 0
        self._cache_epoch = None
        self._cache = None

    def epoch_batches(self, epoch: int) -> list:
        if self._cache_epoch == epoch:
            return self._cache
        rng = np.random.default_rng([self.seed, epoch, 0x5EED])
        order = rng.permutation(len(self.lengths))
        chunk = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            for b in range(0, len(part), self.batch_size):
                batches.append(part[b : b + self.batch_size].tolist())
        if len(order) >= self.batch_size and len(batches[-1]) < self.batch_size:
            batches.pop()
        perm = rng.permutation(len(batches))
        self._cache_epoch, self._cache = epoch, [batches[p] for p in perm]
        return self._cache

    def next(self) -> list:
        batches = self.epoch_batches(self.epoch)
        if self.index >= len(batches):
            self.epoch, self.index = self.epoch + 1, 0
            batches = self.epoch_batches(self.epoch)
        batch = batches[self.index]
        self.index += 1
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "index": self.index, "seed": self.seed, "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index = int(state["epoch"]), int(state["index"])


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, bucket_batches: int = 50
) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, cut into buckets of ``bucket_batches`` batches,
    sort each bucket by length, cut it into batches, shuffle the batch order. Seeded by ``generator``."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    bucket = batch_size * bucket_batches
    batches = []
    for start in range(0, len(order), bucket):
        chunk = sorted(order[start : start + bucket], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    perm = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in perm]


class EpochBatches:
    """:func:`length_bucketed_batches` as the training loop's step stream (fine-tuning): epoch after
    epoch from one torch generator, each epoch's batches drawn when its first batch is asked for.
    ``epoch`` is the epoch of the last batch served (1-based); ``epoch_done`` says whether it was
    that epoch's last. Not resumable (fine-tuning keeps no checkpoints)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, generator: torch.Generator):
        if len(lengths) == 0:
            raise ValueError("no training examples")
        self.lengths = list(lengths)
        self.batch_size = int(batch_size)
        self.generator = generator
        self.epoch, self.index, self._batches = 0, 0, []

    def next(self) -> list:
        if self.index >= len(self._batches):
            self._batches = length_bucketed_batches(self.lengths, self.batch_size, self.generator)
            self.epoch, self.index = self.epoch + 1, 0
        batch = self._batches[self.index]
        self.index += 1
        return batch

    @property
    def epoch_done(self) -> bool:
        return self.index >= len(self._batches)


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Evaluation batches: indices sorted by length (padding is minimal), in fixed order."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
