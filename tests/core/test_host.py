"""The hardware a run's seconds were measured on (metrics.json's `hardware`)."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from snnstudio.core.host import cpu_model, hardware
from snnstudio.core.threads import usable_cores


def test_the_cpu_model_is_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
    )
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"


def test_without_cpuinfo_the_platform_names_the_cpu(tmp_path: Path) -> None:
    assert cpu_model(tmp_path / "absent") == platform.processor()


def test_a_cpu_run_names_its_vector_instructions_and_cores() -> None:
    described = hardware(torch.device("cpu"))
    capability = torch.backends.cpu.get_cpu_capability()
    assert described.endswith(f"({capability}, {usable_cores()} cores)")
    assert described.split(" (")[0].strip()  # a name, or 'unknown CPU'
