"""The ANN-twin cache: its key holds every config key but the reviewed few, a reused ANN twin
gives exactly the metrics of training it, and a damaged entry is retrained with a warning."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from snnstudio.core import config as config_io
from snnstudio.core.events import Log
from snnstudio.core.rules import conversion
from snnstudio.core.rules.ann_cache import (
    NOT_ANN_KEYS,
    AnnCache,
    CachedAnn,
    DamagedEntry,
    ann_key,
    ann_key_data,
)
from snnstudio.core.runner import run_experiment
from snnstudio.core.sweep.engine import run_sweep
from snnstudio.core.sweep.spec import loads_spec
from tests.core.sweep_specs import tiny_spec

CPU = torch.device("cpu")
# what was checked not to reach the ANN twin's stage (see NOT_ANN_KEYS' reasons); a key added
# there must be added here too, after checking it
REVIEWED = {
    "name", "rule.norm", "rule.scale", "rule.spike_scaling", "rule.percentile", "rule.v_init",
    "rule.reference", "rule.reference_samples", "rule.combo", "rule.stdb_lr", "rule.stdb_alpha",
    "rule.stdb_beta", "sim.eval_timesteps", "train.clean_twin",
}  # fmt: skip


def leaf_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += leaf_keys(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def changed(value: Any) -> Any:
    """Another value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return [*value, [1.0]]


def with_changed(cfg: config_io.ExperimentConfig, dotted: str) -> config_io.ExperimentConfig:
    data = config_io.to_dict(cfg)
    *sections, leaf = dotted.split(".")
    table = data
    for section in sections:
        table = table[section]
    table[leaf] = changed(table[leaf])
    return config_io.from_dict(data)


def key_of(cfg: config_io.ExperimentConfig, stage: str = "backdoored", data: str = "poisoned"):
    return ann_key(ann_key_data(cfg, stage, data, CPU))


def test_every_config_key_but_the_reviewed_ones_is_in_the_key() -> None:
    cfg = config_io.load_preset("demo")
    keys = leaf_keys(config_io.to_dict(cfg))
    assert set(NOT_ANN_KEYS) == REVIEWED and set(keys) >= REVIEWED
    ignored = [k for k in keys if key_of(with_changed(cfg, k)) == key_of(cfg)]
    assert sorted(ignored) == sorted(REVIEWED)


def test_stage_data_device_and_threads_are_in_the_key() -> None:
    cfg = config_io.load_preset("demo")
    first = key_of(cfg)
    assert key_of(cfg, stage="clean-twin") != first
    assert key_of(cfg, data="clean") != first
    assert ann_key(ann_key_data(cfg, "backdoored", "poisoned", torch.device("cuda"))) != first
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert key_of(cfg) != first
    finally:
        torch.set_num_threads(threads)


def entry() -> CachedAnn:
    return CachedAnn({"w": torch.ones(2)}, {"acc": 0.5, "asr": 1.0}, [[1, 0.5, 1.0, 0.1, 2.0]],
                     torch.get_rng_state(), trained_by="runs/a")  # fmt: skip


def test_a_foreign_or_damaged_entry_is_refused(tmp_path: Path) -> None:
    cache = AnnCache(tmp_path)
    cfg = config_io.load_preset("demo")
    mine = ann_key_data(cfg, "backdoored", "poisoned", CPU)
    path = cache.path("backdoored", ann_key(mine))
    assert cache.load(path, mine) is None
    cache.save(path, mine, entry())
    loaded = cache.load(path, mine)
    assert loaded is not None and loaded.trained_by == "runs/a" and loaded.epochs[0][0] == 1
    assert json.loads(path.with_suffix(".json").read_text())["key"] == mine
    other = ann_key_data(with_changed(cfg, "train.seed"), "backdoored", "poisoned", CPU)
    with pytest.raises(DamagedEntry, match="another config"):
        cache.load(path, other)  # a file under the wrong name is never used
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DamagedEntry):
        cache.load(path, mine)


TINY = [
    "data.train_limit=200", "data.test_limit=60", "train.batch_size=16", "rule.ann_epochs=1",
    "train.epochs=1", "sim.timesteps=4", "sim.eval_timesteps=8", "rule.reference_samples=50",
    "train.clean_twin=false", "sim.encoder=poisson",
]  # fmt: skip
# every reviewed key at another value: the second point's ANN twin is the first's
OTHER = [
    "name=other", "rule.norm=robust", "rule.scale=0.5", "rule.spike_scaling=layerwise",
    "rule.percentile=99.0", "rule.v_init=0.2",
    "rule.reference=clean", "rule.reference_samples=40", "rule.stdb_lr=0.0005",
    "rule.stdb_alpha=0.4", "rule.stdb_beta=0.02", "sim.eval_timesteps=10",
    "train.clean_twin=true",
]  # fmt: skip


@pytest.fixture
def drawing_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ANN training that moves torch's generator after it (as dropout would): a reused
    ANN must leave the generator where training it would have (the Poisson encoder draws
    from it after the ANN stage)."""
    train_ann = conversion.train_ann

    def drawing(ctx, train_set):  # type: ignore[no-untyped-def]
        trained = yield from train_ann(ctx, train_set)
        torch.rand(100)
        return trained

    monkeypatch.setattr(conversion, "train_ann", drawing)


def run(cfg: config_io.ExperimentConfig, out: Path, cache: Path) -> tuple[dict, list, list[str]]:
    """The run's metrics and history without timings and the cache record, and its log."""
    logs = [e.message for e in run_experiment(cfg, out, ann_cache=cache) if isinstance(e, Log)]
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.pop("seconds")
    metrics.pop("ann_twin")
    with (out / "history.csv").open() as handle:
        history = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(handle)]
    return metrics, history, logs


def record(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def same_files(first: Path, second: Path) -> bool:
    a, b = (torch.load(p, weights_only=True) for p in (first, second))
    return all(torch.equal(a["net"][k], b["net"][k]) for k in a["net"]) and torch.equal(
        a["torch_rng"], b["torch_rng"]
    )


@pytest.mark.parametrize(
    ("rule", "other_rule"), [("conversion", []), ("hybrid", ["rule.combo=com3"])]
)  # fmt: skip
def test_a_reused_ann_twin_gives_the_metrics_of_training_it(
    tmp_path: Path, drawing_training: None, rule: str, other_rule: list[str]
) -> None:
    first = config_io.with_overrides(config_io.load_preset("demo"), [*TINY, f"rule.name={rule}"])
    second = config_io.with_overrides(first, [*OTHER, *other_rule])
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    run(first, tmp_path / "first", shared)
    reused = run(second, tmp_path / "reused", shared)
    trained = run(second, tmp_path / "trained", alone)
    assert reused[:2] == trained[:2]  # every metric and epoch row, the ANN's included
    assert reused[0]["ann_acc"] > 0.3 and reused[0]["acc"] > 0.1
    (cached,) = shared.glob("backdoored-*.pt")  # beside the second run's clean twin's
    (own,) = alone.glob("backdoored-*.pt")
    assert cached.name == own.name and same_files(cached, own)
    info = record(tmp_path / "reused")
    assert info["ann_twin"]["backdoored"] == {
        "file": str(cached), "reused": True, "trained_by": str(tmp_path / "first"),
    }  # fmt: skip
    assert info["seconds"]["backdoored"]["ann_training"] == 0.0
    assert "ann_loading" in info["seconds"]["backdoored"]
    with (tmp_path / "reused" / "history.csv").open() as handle:
        replayed = [r for r in csv.DictReader(handle) if r["stage"] == "backdoored-ann"]
    assert replayed and all(float(r["seconds"]) == 0.0 for r in replayed)
    assert any(f"reusing the ANN twin in {cached}" in m for m in reused[2])
    assert record(tmp_path / "trained")["ann_twin"]["backdoored"]["reused"] is False
    if rule == "hybrid":
        return
    cached.write_bytes(b"not a torch file")  # a damaged entry is retrained and overwritten
    again = run(second, tmp_path / "again", shared)
    assert any(m.startswith("warning: backdoored-ann: the cached ANN twin") for m in again[2])
    assert again[:2] == trained[:2] and same_files(cached, own)
    assert record(tmp_path / "again")["ann_twin"]["backdoored"]["reused"] is False


def point_metrics(out: Path) -> list[dict]:
    runs = sorted((out / "runs").iterdir())
    return [json.loads((r / "metrics.json").read_text()) for r in runs]


def test_a_sweep_trains_each_ann_twin_once(tmp_path: Path) -> None:
    axes = '"rule.name" = "conversion"\n"rule.ann_epochs" = 1\n"sim.eval_timesteps" = 8\n'
    spec = loads_spec(tiny_spec(f'{axes}[grid]\n"rule.scale" = [1.0, 0.5]'))
    list(run_sweep(spec, tmp_path / "reuse", workers=1))
    list(run_sweep(spec, tmp_path / "alone", workers=1, ann_reuse=False))
    reuse, alone = point_metrics(tmp_path / "reuse"), point_metrics(tmp_path / "alone")
    for shared, own in zip(reuse, alone, strict=True):
        for key in ("ann_acc", "ann_asr", "acc", "asr", "mr"):
            assert shared[key] == own[key], key
    (cached,) = (tmp_path / "reuse" / "ann-twins").glob("*.pt")
    first, second = (m["ann_twin"]["backdoored"] for m in reuse)
    assert first["reused"] is False and second["reused"] is True
    assert first["file"] == second["file"] == str(cached)
    assert second["trained_by"].endswith("000_scale-1.0_seed-0")
    assert not (tmp_path / "alone" / "ann-twins").exists()
    assert all("ann_twin" not in m for m in alone)
