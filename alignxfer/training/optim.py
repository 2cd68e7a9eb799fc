"""The optimiser and learning-rate schedule of every training run."""

from __future__ import annotations

import torch


def optimisation_settings(section: dict) -> dict:
    """The :func:`alignxfer.training.loop.train` arguments of a config section (``base.training``
    or ``pretraining.budget``)."""
    return {
        "steps": int(section["steps"]),
        "batch_size": int(section["batch_size"]),
        "learning_rate": float(section["learning_rate"]),
        "warmup_ratio": float(section.get("warmup_ratio", 0.0)),
        "weight_decay": float(section.get("weight_decay", 0.0)),
        "gradient_accumulation": int(section.get("gradient_accumulation", 1)),
        "max_grad_norm": section.get("max_grad_norm", 1.0),
    }


def make_optimizer(model: torch.nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (betas 0.9/0.999, eps 1e-8); biases and LayerNorm weights (1-d parameters) get no weight decay."""
    decay, no_decay = [], []
    for _, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    return int(round(float(warmup_ratio) * total_steps))


def linear_factor(total_steps: int, warmup: int):
    """lr multiplier for optimizer step ``s`` (0-based): (s+1)/w during w warmup steps, then linear
    decay reaching 0 after the last step. No step runs at lr 0."""

    def factor(s: int) -> float:
        if warmup and s < warmup:
            return (s + 1) / warmup
        return max(0.0, (total_steps - s) / max(1, total_steps - warmup))

    return factor


def linear_schedule(optimizer, total_steps: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """:func:`linear_factor` as a scheduler stepped once per optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, linear_factor(total_steps, warmup))


def optimizer_step(params, optimizer, scheduler, max_grad_norm: float | None) -> None:
    """One update of every stage: clip the gradients' global norm (when ``max_grad_norm``), step
    the optimiser, then the schedule."""
    if max_grad_norm:
        torch.nn.utils.clip_grad_norm_(params, float(max_grad_norm))
    optimizer.step()
    scheduler.step()
