"""Event datasets: N-MNIST files in the official format, framing, the frame cache, errors,
the embedded digits-dvs, and the real N-MNIST recordings when ../shared/data is present."""

from __future__ import annotations

import os

import numpy as np
import pytest

from snnstudio.core import config as config_io
from snnstudio.core.config import DataConfig
from snnstudio.core.data import event_frames
from snnstudio.core.data.digits import load_digits_dataset
from snnstudio.core.data.digits_dvs import simulate_events
from snnstudio.core.data.event_frames import FramingSpec, decode_and_frame, events_to_frames
from snnstudio.core.data.nmnist import read_nmnist_events
from snnstudio.core.data.registry import load_dataset
from snnstudio.core.errors import DatasetError
from snnstudio.core.events import Cancelled, CancelToken, Log, RunFinished
from snnstudio.core.runner import prepare_data, run_experiment
from tests.core.event_files import events, random_events, write_nmnist_bin


def nmnist_folder(root, per_class: int = 2, classes=(0, 1, 2), seed: int = 0):
    rng = np.random.default_rng(seed)
    for split in ("Train", "Test"):
        for digit in classes:
            for i in range(per_class):
                write_nmnist_bin(root / split / str(digit) / f"{i:05d}.bin",
                                 random_events(rng, 200, 34))  # fmt: skip
    return root


def nmnist_config(root, tmp_path, **kw) -> DataConfig:
    return DataConfig(name="nmnist", root=str(root), cache_dir=str(tmp_path / "cache"), **kw)


def test_nmnist_reader_decodes_the_official_bytes(tmp_path) -> None:
    ev = events(x=[0, 33, 5], y=[1, 32, 7], t=[10, 70_000, 8_000_000 - 1], p=[1, 0, 1])
    read = read_nmnist_events(write_nmnist_bin(tmp_path / "a.bin", ev))
    for key in "xytp":
        np.testing.assert_array_equal(read[key], ev[key])


def test_nmnist_layout_gives_frames_and_labels(tmp_path) -> None:
    root = nmnist_folder(tmp_path / "NMNIST")
    # known events: ON at x=5, y=7 in the first of three time bins, OFF at x=9, y=9 in the second
    known = events(x=[5, 9, 5], y=[7, 9, 7], t=[0, 150_000, 300_000], p=[1, 0, 1])
    write_nmnist_bin(root / "Train" / "0" / "00000.bin", known)
    splits = load_dataset(nmnist_config(root, tmp_path), timesteps=3)
    assert splits.is_event and splits.train.x.shape == (6, 3, 2, 34, 34)
    assert splits.train.x.dtype == np.float32 and splits.test.x.shape[0] == 6
    assert splits.train.y.tolist() == [0, 0, 1, 1, 2, 2]
    first = splits.train.x[0]
    assert first[0, 1, 7, 5] == 1 and first[0, 0, 7, 5] == 0  # channel = polarity bit
    assert first[1, 0, 9, 9] == 1 and first[0].sum() == 1 and first[1].sum() == 1
    assert first[2, 1, 7, 5] == 1 and first.sum() == 3  # the last event is kept
    assert any("found 6 recordings" in note for note in splits.notes)


def test_frames_by_count_and_downsampling() -> None:
    ev = events(x=[0, 33, 33, 0], y=[0, 33, 0, 33], t=[0, 1, 2, 1000], p=[0, 1, 1, 0])
    structured = read_like(ev)
    by_count = events_to_frames(structured, FramingSpec((34, 34, 2), 2, "count"))
    assert by_count.shape == (2, 2, 34, 34) and by_count[0].sum() == 2 and by_count[1].sum() == 2
    by_time = events_to_frames(structured, FramingSpec((34, 34, 2), 2, "time"))
    assert by_time[0].sum() == 3 and by_time[1].sum() == 1
    small = events_to_frames(structured, FramingSpec((34, 34, 2), 2, "time", side=17))
    assert small.shape == (2, 2, 17, 17) and small[0, 1, 16, 16] == 1


def read_like(ev: dict[str, np.ndarray]) -> np.ndarray:
    out = np.zeros(len(ev["t"]), np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    for key in "xytp":
        out[key] = ev[key]
    return out


def test_second_load_reads_the_cache_without_decoding(tmp_path, monkeypatch) -> None:
    root = nmnist_folder(tmp_path / "NMNIST")
    cfg = nmnist_config(root, tmp_path)
    first = load_dataset(cfg, timesteps=4)

    def no_decoding(*args, **kwargs):
        raise AssertionError("events were decoded although the frames are cached")

    monkeypatch.setattr(event_frames, "decode_and_frame", no_decoding)
    second = load_dataset(cfg, timesteps=4)
    np.testing.assert_array_equal(first.train.x, second.train.x)
    np.testing.assert_array_equal(first.test.y, second.test.y)
    assert any("frame cache" in note for note in second.notes)
    # anything that shapes the frames is part of the key: another T decodes again
    with pytest.raises(AssertionError, match="decoded"):
        load_dataset(cfg, timesteps=5)
    # so is every file's size and mtime
    victim = root / "Test" / "1" / "00000.bin"
    victim.write_bytes(victim.read_bytes()[:-5])
    with pytest.raises(AssertionError, match="decoded"):
        load_dataset(cfg, timesteps=4)


def test_train_limit_decodes_only_the_chosen_files(tmp_path, monkeypatch) -> None:
    root = nmnist_folder(tmp_path / "NMNIST", per_class=4)
    decoded = []
    original = event_frames.decode_and_frame
    monkeypatch.setattr(event_frames, "decode_and_frame",
                        lambda reader, items, spec, cancel=None: decoded.append(len(items)) or
                        original(reader, items, spec, cancel))  # fmt: skip
    splits = load_dataset(nmnist_config(root, tmp_path, train_limit=5, test_limit=3), seed=1)
    assert decoded == [5, 3] and len(splits.train) == 5 and len(splits.test) == 3


def test_cache_can_be_switched_off(tmp_path) -> None:
    root = nmnist_folder(tmp_path / "NMNIST", per_class=1)
    cfg = DataConfig(name="nmnist", root=str(root), cache_dir="none")
    assert len(load_dataset(cfg, timesteps=2).train) == 3


def test_corrupt_and_missing_files_name_the_path(tmp_path) -> None:
    root = nmnist_folder(tmp_path / "NMNIST", per_class=1)
    bad = root / "Train" / "2" / "00000.bin"
    bad.write_bytes(bad.read_bytes() + b"\x01\x02")  # not a multiple of 5 bytes
    with pytest.raises(DatasetError, match=r"00000\.bin.*5-byte"):
        load_dataset(nmnist_config(root, tmp_path), timesteps=2)
    write_nmnist_bin(bad, events(x=[40], y=[3], t=[5], p=[1]))  # off the 34x34 sensor
    with pytest.raises(DatasetError, match=r"2/00000\.bin.*leave the 34x34 sensor"):
        load_dataset(nmnist_config(root, tmp_path), timesteps=2)
    with pytest.raises(DatasetError, match="folder not found"):
        load_dataset(nmnist_config(tmp_path / "nowhere", tmp_path))
    with pytest.raises(DatasetError, match=r"set data\.root"):
        load_dataset(DataConfig(name="nmnist"))
    (root / "Train" / "seven").mkdir()
    with pytest.raises(DatasetError, match=r"class folders must be named 0\.\.9"):
        load_dataset(nmnist_config(root, tmp_path), timesteps=2)


def test_frame_side_must_downsample(tmp_path) -> None:
    root = nmnist_folder(tmp_path / "NMNIST", per_class=1)
    with pytest.raises(DatasetError, match="frame_side = 40"):
        load_dataset(nmnist_config(root, tmp_path, frame_side=40), timesteps=2)


def test_digits_dvs_is_deterministic_with_on_and_off_events() -> None:
    images = load_digits_dataset().train.x[:6, 0]
    first, second = simulate_events(images), simulate_events(images)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    for rec in first:
        assert len(rec) > 1000 and 0.3 < rec["p"].mean() < 0.7  # ON and OFF events
        assert np.all(np.diff(rec["t"]) >= 0) and rec["t"].max() <= 300_000
        assert rec["x"].max() < 34 and rec["y"].max() < 34


def test_digits_dvs_loads_as_event_frames(tmp_path) -> None:
    cfg = DataConfig(name="digits-dvs", train_limit=40, test_limit=20,
                     cache_dir=str(tmp_path / "cache"))  # fmt: skip
    splits = load_dataset(cfg, seed=3, timesteps=4)
    assert splits.is_event and splits.train.x.shape == (40, 4, 2, 34, 34)
    assert splits.test.x.shape == (20, 4, 2, 34, 34) and set(np.unique(splits.train.x)) == {0, 1}
    again = load_dataset(cfg, seed=3, timesteps=4)
    np.testing.assert_array_equal(splits.train.x, again.train.x)
    assert any("frame cache" in note for note in again.notes)


def test_default_cache_folder_is_outside_the_data(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SNNSTUDIO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert event_frames.resolve_cache_dir("") == tmp_path / "xdg" / "snnstudio" / "frames"
    assert event_frames.resolve_cache_dir("NONE") is None
    monkeypatch.setenv("SNNSTUDIO_CACHE", str(tmp_path / "mine"))
    assert event_frames.resolve_cache_dir("") == tmp_path / "mine" / "frames"
    assert os.fspath(event_frames.resolve_cache_dir("~/x")).startswith(os.path.expanduser("~"))


def test_real_nmnist_recordings(shared_data, tmp_path) -> None:
    sample = read_nmnist_events(shared_data / "events" / "sample_nmnist.bin")
    assert len(sample) == 4325 and sample["x"].max() < 34 and set(sample["p"]) == {0, 1}
    cfg = DataConfig(name="nmnist", root=str(shared_data / "nmnist"), train_limit=60,
                     test_limit=20, cache_dir=str(tmp_path / "cache"))  # fmt: skip
    splits = load_dataset(cfg, timesteps=4)
    assert splits.train.x.shape == (60, 4, 2, 34, 34) and len(splits.test) == 20
    assert "found 1000 recordings" in " ".join(splits.notes)
    assert "found 100 recordings" in " ".join(splits.notes)
    assert 0.01 < splits.train.x.mean() < 0.5 and set(splits.train.y.tolist()) <= set(range(10))


def test_digits_dvs_run_through_the_runner(tmp_path) -> None:
    cfg = config_io.with_overrides(
        config_io.load_preset("demo"),
        ["data.name=digits-dvs", "data.train_limit=96", "data.test_limit=48",
         f"data.cache_dir={tmp_path / 'cache'}", "sim.timesteps=2", "train.epochs=1",
         "train.clean_twin=false", "trigger.position=top-left", "trigger.polarity=0"],
    )  # fmt: skip
    data = prepare_data(cfg)
    triggered = data.sets.triggered_test.x
    assert triggered.shape[1:] == (2, 2, 34, 34)
    assert np.all(triggered[:, :, 0, :2, :2] == 1) and np.all(triggered[:, :, 1, :2, :2] == 0)
    assert int(data.poisoned_train.is_poison.sum()) == 10
    events = list(run_experiment(cfg))
    logs = " ".join(e.message for e in events if isinstance(e, Log))
    assert "digits-dvs-train: 96 samples read from the frame cache" in logs  # prepare_data made it
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.status == "completed"
    assert 0.0 <= finished.metrics["acc"] <= 1.0 and 0.0 <= finished.metrics["asr"] <= 1.0
    assert finished.metrics["mse"] > 0 and 0.9 < finished.metrics["ssim"] < 1.0  # the stealth


def test_a_cancelled_load_stops_within_one_file():
    """The window cancels a dataset check that a newer edit superseded; decoding stops at
    the next file instead of framing the whole dataset first."""
    token, read = CancelToken(), []

    def reader(item: int) -> np.ndarray:
        read.append(item)
        if len(read) == 3:
            token.cancel()
        return np.zeros(0, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])

    with pytest.raises(Cancelled):
        decode_and_frame(reader, range(100), FramingSpec((8, 8, 2), 4), token)
    assert read == [0, 1, 2]
    with pytest.raises(Cancelled):
        load_dataset(DataConfig(name="digits"), cancel=token)
