"""Validation reads what datasets, architectures and rules support from their registry entries."""

from __future__ import annotations

import dataclasses

import pytest

from snnstudio.core import config as config_io
from snnstudio.core import validation
from snnstudio.core.data import registry as data_registry
from snnstudio.core.models import registry as model_registry
from snnstudio.core.rules import registry as rule_registry


def conversion_on(arch: str, dataset: str = "digits") -> config_io.ExperimentConfig:
    return config_io.with_overrides(
        config_io.ExperimentConfig(),
        ["rule.name=conversion", f"model.arch={arch}", f"data.name={dataset}"],
    )


def test_capabilities_come_from_the_registry_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = conversion_on("resnet18")
    assert validation.problems(cfg) == []
    entry = model_registry.ARCHS["resnet18"]
    monkeypatch.setitem(
        model_registry.ARCHS, "resnet18", dataclasses.replace(entry, convertible=False)
    )
    assert any("cannot convert model.arch" in p for p in validation.problems(cfg))

    events = conversion_on("csnn", "digits-dvs")
    assert any("neuromorphic" in p for p in validation.problems(events))
    rule = rule_registry.RULES["conversion"]
    monkeypatch.setitem(
        rule_registry.RULES, "conversion", dataclasses.replace(rule, needs_static_images=False)
    )
    assert not any("neuromorphic" in p for p in validation.problems(events))


def test_registry_capabilities_as_the_readme_states() -> None:
    assert rule_registry.converting_rule_names() == ["conversion", "hybrid"]
    assert model_registry.convertible_arch_names() == ["csnn", "vgg11", "resnet18"]
    events = [n for n in data_registry.dataset_names() if data_registry.is_event_dataset(n)]
    assert events == ["digits-dvs", "nmnist", "cifar10dvs", "dvsgesture"]
    assert not data_registry.needs_root("digits") and data_registry.needs_root("mnist")
    assert not data_registry.is_event_dataset("no-such-dataset")
