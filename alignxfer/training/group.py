"""The process group the training loop talks to: one process (a null object) or a torch.distributed group.

The loop is written once for both (as nanoGPT writes one loop for one or many processes): it asks
the group whether this process is the main one (prints, writes history and checkpoints, calls
back), which micro-batches of a step it computes, and for sums across processes.
:class:`SingleProcess` is rank 0 of one: it owns every micro-batch and its reductions return their
input, so a one-process run takes exactly the code path it always took.
"""

from __future__ import annotations

import torch

#: elements per all-reduce of gradients (fp32: 128 MiB)
BUCKET_ELEMENTS = 1 << 25


def rank_seed(seed: int, rank: int) -> int:
    """The torch seed of rank ``rank`` >= 1 (dropout draws); rank 0 keeps the job's own stream."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, rank, 0xD1CE]).generate_state(1)[0])


class SingleProcess:
    """The group of a one-process run: rank 0 of 1, owns everything, reductions do nothing."""

    rank = 0
    world_size = 1
    main = True

    def owns(self, micro: int) -> bool:
        return True

    def start(self, model, seed: int) -> None:
        """Nothing to share: the model and torch's generator are this process's own."""

    def reduce_step(self, params: list, values: list[float]) -> list[float]:
        return list(values)

    def gather(self, obj) -> list | None:
        """No other process: None (a checkpoint then holds this process's RNG state only)."""
        return None

    def rng_state_of_checkpoint(self, state: dict) -> dict | None:
        """The RNG state this process resumes from."""
        return state["rng"]

    def barrier(self) -> None:
        pass


class Group:
    """The collectives the training loop needs, for one rank of an initialised process group."""

    def __init__(self, rank: int, world_size: int, device, backend: str):
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.device = torch.device(device)
        self.backend = backend
        # nccl moves CUDA tensors only; gloo is used with CPU tensors
        self.comm_device = self.device if backend == "nccl" else torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def owns(self, micro: int) -> bool:
        """Whether this rank computes micro-batch ``micro`` of a step (round robin)."""
        return micro % self.world_size == self.rank

    def start(self, model, seed: int) -> None:
        """Every rank starts from rank 0's weights; ranks >= 1 draw dropout from their own stream."""
        self.broadcast_parameters(model)
        if not self.main:
            torch.manual_seed(rank_seed(seed, self.rank))

    def rng_state_of_checkpoint(self, state: dict) -> dict | None:
        """Each rank's own stream when the checkpoint has them (same number of ranks); else rank 0
        takes the job's stream and the others keep theirs."""
        ranks = state.get("rng_ranks")
        if ranks is not None and len(ranks) == self.world_size:
            return ranks[self.rank]
        return state["rng"] if self.main else None

    def broadcast_parameters(self, model) -> None:
        """Make every rank start from rank 0's weights."""
        import torch.distributed as dist

        with torch.no_grad():
            for tensor in list(model.parameters()) + list(model.buffers()):
                data = tensor.data
                buf = data.to(self.comm_device)
                dist.broadcast(buf, 0)
                if buf is not data:
                    data.copy_(buf)

    def reduce_step(self, params: list, values: list[float]) -> list[float]:
        """Sum every rank's gradients (in place) and ``values``; returns the summed values.

        A parameter that got no gradient on some rank gets zeros there when another rank has one;
        a parameter that got none anywhere keeps ``grad=None`` (as in a one-device run, where the
        optimizer then skips it).
        """
        import torch.distributed as dist

        header = torch.tensor(
            [0.0 if p.grad is None else 1.0 for p in params] + [float(v) for v in values],
            dtype=torch.float64,
            device=self.comm_device,
        )
        dist.all_reduce(header)
        header = header.cpu().tolist()
        flags, summed = header[: len(params)], header[len(params) :]
        grads = []
        for p, flag in zip(params, flags):
            if flag == 0:
                continue
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            grads.append(p.grad)
        self._all_reduce_coalesced(grads)
        return summed

    def _all_reduce_coalesced(self, tensors: list) -> None:
        import torch.distributed as dist

        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for group in by_dtype.values():
            bucket, size = [], 0
            for t in group + [None]:
                if t is not None:
                    bucket.append(t)
                    size += t.numel()
                if bucket and (t is None or size >= BUCKET_ELEMENTS):
                    flat = torch.cat([b.reshape(-1) for b in bucket]).to(self.comm_device)
                    dist.all_reduce(flat)
                    offset = 0
                    for b in bucket:
                        b.copy_(flat[offset : offset + b.numel()].view_as(b))
                        offset += b.numel()
                    bucket, size = [], 0

    def gather(self, obj) -> list:
        """Every rank's ``obj`` (picklable), in rank order, on every rank."""
        import torch.distributed as dist

        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()
