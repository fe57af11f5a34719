"""The memory estimate refuses runs that cannot fit before anything is allocated, and Stop acts
between the timesteps of a batch."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from snnstudio.core import config as config_io
from snnstudio.core import estimate as estimate_module
from snnstudio.core import validation
from snnstudio.core.data import registry as data_registry
from snnstudio.core.estimate import MemoryEstimateError, estimate_run, profile_model
from snnstudio.core.events import Cancelled, CancelToken
from snnstudio.core.models.registry import build_network
from snnstudio.core.runner import resolve_step_mode, run_experiment

GB = 1024**3


@pytest.fixture
def sixteen_gb(monkeypatch):  # type: ignore[no-untyped-def]
    """A machine with 16 GB available, whatever this one has."""
    available = (16 * GB, "test: 16 GB")
    monkeypatch.setattr(estimate_module, "available_memory", lambda device: available)


def estimate(cfg: config_io.ExperimentConfig) -> estimate_module.RunEstimate:
    return estimate_run(cfg, resolve_step_mode(cfg.train.step_mode, torch.device("cpu")))


def demo(**sim: int) -> config_io.ExperimentConfig:
    cfg = config_io.load_preset("demo")
    return dataclasses.replace(cfg, sim=dataclasses.replace(cfg.sim, **sim))


def test_training_memory_grows_with_timesteps_times_batch() -> None:
    small, double_t = estimate(demo(timesteps=4)), estimate(demo(timesteps=8))
    profile = profile_model(config_io.ModelConfig(), (1, 28, 28), 10, True, "m")
    # csnn on 28x28: the first conv block alone saves 16 x 28 x 28 floats several times
    assert 4 * 16 * 28 * 28 * 4 < profile.saved_per_step < 100 * 16 * 28 * 28 * 4
    batch_input = 32 * 28 * 28 * 4  # the batch itself ('repeat' expands it without copies)
    assert small.training_bytes == profile.saved_per_step * 4 * 32 + batch_input
    assert double_t.training_bytes == profile.saved_per_step * 8 * 32 + batch_input


@pytest.mark.parametrize("rule", ["bptt", "conversion"])
def test_vgg11_on_mnist_sized_images_is_estimated(rule: str) -> None:
    """VGG11's last maps are 1x1 on 28x28 images: a one-sample probe made training-mode batch
    norm raise (the ANN twin's)."""
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"), ["model.arch=vgg11", f"rule.name={rule}"]
    )
    one = profile_model(cfg.model, (1, 28, 28), 10, False, "s")
    assert one.largest_output == 64 * 28 * 28  # the first conv block's output, per sample
    assert estimate(cfg).training_bytes > 0


def test_two_thousand_timesteps_are_refused_before_any_file_or_dataset(
    tmp_path, sixteen_gb, monkeypatch
) -> None:
    def no_loading(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the dataset was loaded")

    monkeypatch.setattr("snnstudio.core.runner.load_dataset", no_loading)
    with pytest.raises(MemoryEstimateError) as refused:
        next(run_experiment(demo(timesteps=2000), tmp_path / "run"))
    message = str(refused.value)
    assert "16.00 GB is available (test: 16 GB" in message
    assert "T = 2000 x batch 32" in message and "lower sim.timesteps to " in message
    assert "\n" not in message and not (tmp_path / "run").exists()
    fits_at = int(message.split("lower sim.timesteps to ")[1].split()[0])
    assert 100 < fits_at < 2000 and estimate(demo(timesteps=fits_at)).fits
    assert not estimate(demo(timesteps=fits_at + 1)).fits


def test_stop_acts_between_the_timesteps_of_one_batch() -> None:
    class StopAfter(CancelToken):
        def __init__(self, checks: int) -> None:
            super().__init__()
            self.left = checks

        @property
        def cancelled(self) -> bool:
            self.left -= 1
            return self.left < 0

    net = build_network(config_io.ModelConfig(), (1, 28, 28), 10)
    readouts = []
    net.layers[-1].register_forward_hook(lambda *args: readouts.append(1))
    with pytest.raises(Cancelled):
        net.classify(torch.rand(500, 2, 1, 28, 28), StopAfter(3))
    assert len(readouts) == 3  # three of 500 timesteps ran, then Stop took effect


def test_a_dataset_added_to_the_registry_alone_is_estimated(monkeypatch) -> None:
    """The estimate reads sizes and the event flag from the data registry, the rules' stages
    from the rule registry: nothing else needs to know a new dataset."""
    entry = data_registry.DatasetEntry(
        lambda cfg, req: pytest.fail("the estimate loaded the dataset"), needs_root=False,
        is_event=True, size=data_registry.NominalSize((2, 40, 40), 100_000, 100, 5),
    )  # fmt: skip
    monkeypatch.setitem(data_registry.DATASETS, "fake-dvs", entry)
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=fake-dvs", "data.frame_side=20", "data.test_limit=50", "sim.timesteps=3"],
    )
    assert validation.problems(cfg) == []
    size = estimate_module.dataset_size(cfg)
    assert (size.image_shape, size.train, size.test, size.classes) == ((2, 20, 20), 100_000, 50, 5)
    assert size.is_event
    result = estimate(cfg)
    sample = 2 * 20 * 20 * 3  # one stored sample: T frames
    triggered = 50 * 4 // 5
    assert result.dataset_bytes == 4 * sample * (200_000 + 50 + triggered) + sample * 100_000
    assert result.training_bytes > 0 and result.seconds > 0
    assert result.dataset_bytes > result.training_bytes  # so the refusal names the data
    refusal = estimate_module.refusal(cfg, result, "m", torch.device("cpu"))
    assert "data.train_limit or data.frame_side" in refusal


def test_an_event_folder_holding_a_subset_is_estimated_by_its_files(tmp_path) -> None:
    """1000 N-MNIST recordings are not the 60000 of the full split: the estimate counts the
    files in data.root (without reading them) instead of refusing a run that fits."""
    for split, per_class in (("Train", 3), ("Test", 2)):
        for digit in range(3):
            folder = tmp_path / split / str(digit)
            folder.mkdir(parents=True)
            for i in range(per_class):
                (folder / f"{i:05d}.bin").write_bytes(b"")
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"), ["data.name=nmnist", f"data.root={tmp_path}"]
    )
    size = estimate_module.dataset_size(cfg)
    assert (size.train, size.test) == (9, 6)
    missing = config_io.with_overrides(cfg, [f"data.root={tmp_path / 'absent'}"])
    nominal = estimate_module.dataset_size(missing)
    assert (nominal.train, nominal.test) == (60000, 10000)
    limited = config_io.with_overrides(cfg, ["data.train_limit=4"])
    assert estimate_module.dataset_size(limited).train == 4


def test_sweep_dry_run_prints_every_point_and_counts_a_shared_ann_twin_once(tmp_path, capsys):
    """`snnstudio sweep --dry-run`: one line per point, the total of one worker and of two,
    the ANN twin that fig17's nine points share charged to the first only; nothing is run
    and no folder is made."""
    from snnstudio.cli import main
    from snnstudio.core.sweep.spec import load_sweep_preset
    from snnstudio.core.sweep.sweep_estimate import estimate_sweep

    out = tmp_path / "sweep"
    args = ["sweep", "--preset", "paper-fig17", "--out", str(out), "--workers", "2", "--dry-run"]
    assert main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("paper-fig17 at laptop scale: 9 points, about ")
    assert "with 2 workers" in lines[0] and "8 points reuse an earlier point's ANN twin" in lines[0]
    assert len(lines) == 10 and "(its ANN twin shared)" in lines[2]
    assert not out.exists()
    estimates = estimate_sweep(load_sweep_preset("paper-fig17", [], "laptop"))
    unshared = estimate_sweep(load_sweep_preset("paper-fig17", [], "laptop"), ann_reuse=False)
    assert [e.shares_ann for e in estimates] == [False] + [True] * 8
    assert not any(e.shares_ann for e in unshared)
    assert estimates[1].seconds < unshared[1].seconds


def test_a_dynamic_trigger_adds_its_generator_training_once() -> None:
    """Its generator trains with a victim for generator_epochs epochs of three steps a batch,
    once per run (the clean twin reuses it); the estimate had left it out."""
    events = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=digits-dvs", "train.clean_twin=true", "trigger.generator_epochs=2"],
    )
    square = estimate(events)
    dynamic = estimate(config_io.with_values(events, {"trigger.kind": "dynamic"}))
    assert square.trigger_seconds == 0
    assert dynamic.trigger_seconds > 0
    assert dynamic.seconds == pytest.approx(
        2 * (dynamic.snn_seconds + dynamic.conversion_seconds) + dynamic.trigger_seconds
    )
    # three steps per training sample and timestep per generator epoch, against each SNN
    # epoch's one step per training sample plus a third of one per test sample (scoring)
    data = estimate_module.dataset_size(events)
    scored = data.test + data.test * (data.classes - 1) // data.classes
    per_snn_epoch = data.train + scored / 3
    ratio = (2 * 3 * data.train) / (events.train.epochs * per_snn_epoch)
    assert dynamic.trigger_seconds / dynamic.snn_seconds == pytest.approx(ratio)
