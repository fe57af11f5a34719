"""The hardware a run's seconds were measured on, written beside them.

The same desk LR_B epochs took about twice as long in one session as in an earlier one, on
code that times the same on one machine, and nothing in a run's files said which CPU either
ran on: a timing read without its hardware cannot be compared with another.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from snnstudio.core.threads import usable_cores

CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name: /proc/cpuinfo's on Linux, else what `platform` knows, else ''."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor()


def hardware(device: torch.device) -> str:
    """'AMD EPYC (AVX2, 2 cores)' for a CPU run: the model name, the vector instructions
    torch's CPU kernels use, the usable cores; a GPU's name for a CUDA run."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{cpu_model() or 'unknown CPU'} ({capability}, {usable_cores()} cores)"
