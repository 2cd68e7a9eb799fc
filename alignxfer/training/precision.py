"""bf16 autocast: where the hardware runs it natively, one probe for every stage."""

from __future__ import annotations

import torch


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast runs natively (not emulated) on ``device``: CUDA compute capability
    >= 8, or a CPU with AVX-512 BF16 / AMX (:func:`alignxfer.devices.native_bf16`)."""
    from alignxfer.devices import native_bf16

    return native_bf16(device)


def resolve_bf16(setting, device: torch.device) -> bool:
    """``"auto"`` (or None) -> :func:`bf16_supported`; True/False force it."""
    if setting is None or (isinstance(setting, str) and setting.lower() == "auto"):
        return bf16_supported(torch.device(device))
    if isinstance(setting, str):
        raise ValueError(f"bf16 must be true, false or 'auto', got {setting!r}")
    return bool(setting)


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on ``device``'s type (a no-op context when not ``enabled``)."""
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=enabled)
