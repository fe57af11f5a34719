"""CIFAR10-DVS (AER-DAT 2.0) and DVS128 Gesture (tonic's .npy layout, IBM's AEDAT 3.1) on files
the tests write in those formats, plus the real AER-DAT 2.0 recordings in ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest

from snnstudio.core.config import DataConfig
from snnstudio.core.data.cifar10dvs import read_aedat2_dvs128, read_aedat4_events
from snnstudio.core.data.dvsgesture import read_aedat31_polarity
from snnstudio.core.data.registry import load_dataset
from snnstudio.core.errors import DatasetError
from tests.core.event_files import (
    events,
    random_events,
    write_aedat2,
    write_aedat4,
    write_aedat31,
)


def test_aedat2_reader_decodes_dvs128_addresses(tmp_path) -> None:
    ev = events(x=[0, 127, 5], y=[3, 127, 100], t=[1, 2, 4_000_000_000], p=[1, 0, 1])
    read = read_aedat2_dvs128(write_aedat2(tmp_path / "a.aedat", ev))
    for key in "xytp":
        np.testing.assert_array_equal(read[key], ev[key])


def test_aedat2_truncated_or_foreign_files_are_refused(tmp_path) -> None:
    path = write_aedat2(tmp_path / "a.aedat", events([1], [2], [3], [0]))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DatasetError, match=r"a\.aedat.*truncated"):
        read_aedat2_dvs128(path)
    path.write_bytes(b"no header at all")
    with pytest.raises(DatasetError, match=r"a\.aedat: cannot read AER-DAT 2\.0"):
        read_aedat2_dvs128(path)


def cifar10dvs_folder(root, per_class: int = 3, classes=("airplane", "cat")):
    rng = np.random.default_rng(1)
    for name in classes:
        for i in range(per_class):
            write_aedat2(root / name / f"cifar10_{name}_{i}.aedat", random_events(rng, 300, 128))
    return root


def test_cifar10dvs_original_layout_splits_each_class(tmp_path) -> None:
    root = cifar10dvs_folder(tmp_path / "CIFAR10DVS", per_class=11)
    cfg = DataConfig(name="cifar10dvs", root=str(tmp_path), frame_side=32,
                     cache_dir=str(tmp_path / "cache"))  # fmt: skip
    splits = load_dataset(cfg, timesteps=3)
    assert splits.train.x.shape == (18, 3, 2, 32, 32) and splits.test.x.shape == (4, 3, 2, 32, 32)
    assert splits.train.y.tolist() == [0] * 9 + [3] * 9 and splits.test.y.tolist() == [0, 0, 3, 3]
    assert splits.num_classes == 10 and "found 22 .aedat recordings" in splits.notes[0]
    (root / "cat" / "cifar10_cat_4.aedat").write_bytes(b"#!AER-DAT2.0\r\n\x00\x01\x02")
    with pytest.raises(DatasetError, match=r"cifar10_cat_4\.aedat.*truncated"):
        load_dataset(cfg, timesteps=3)


def test_cifar10dvs_wrong_layout_is_named(tmp_path) -> None:
    (tmp_path / "pictures").mkdir()
    with pytest.raises(DatasetError, match="no CIFAR10-DVS class folders"):
        load_dataset(DataConfig(name="cifar10dvs", root=str(tmp_path)))


def test_aedat31_reader_skips_special_events(tmp_path) -> None:
    ev = events(x=[0, 127, 60, 3], y=[5, 0, 127, 3], t=[10, 20, 30, 40], p=[1, 0, 1, 0])
    read = read_aedat31_polarity(write_aedat31(tmp_path / "user01_led.aedat", ev))
    for key in "xytp":
        np.testing.assert_array_equal(read[key], ev[key])


def test_dvsgesture_ibm_layout_cuts_labelled_spans(tmp_path) -> None:
    root = tmp_path / "DvsGesture"
    rng = np.random.default_rng(2)
    for trial in ("user01_led", "user02_led", "user03_lab"):
        write_aedat31(root / f"{trial}.aedat", random_events(rng, 2000, 128, duration=3_000_000))
        (root / f"{trial}_labels.csv").write_text(
            "class,startTime_usec,endTime_usec\n1,0,900000\n5,1000000,1900000\n11,2000000,2900000\n"
        )
    (root / "trials_to_train.txt").write_text("user01_led.aedat\nuser02_led.aedat\n\n")
    (root / "trials_to_test.txt").write_text("user03_lab.aedat\n")
    cfg = DataConfig(name="dvsgesture", root=str(tmp_path), frame_side=16,
                     cache_dir=str(tmp_path / "cache"))  # fmt: skip
    splits = load_dataset(cfg, timesteps=2)
    assert splits.train.x.shape == (6, 2, 2, 16, 16) and splits.test.x.shape == (3, 2, 2, 16, 16)
    assert splits.train.y.tolist() == [0, 4, 10, 0, 4, 10] and splits.num_classes == 11
    assert splits.train.x.sum() > 0
    (root / "trials_to_test.txt").write_text("user09_lab.aedat\n")
    with pytest.raises(DatasetError, match=r"lists user09_lab\.aedat"):
        load_dataset(cfg, timesteps=2)


def test_dvsgesture_tonic_layout(tmp_path) -> None:
    rng = np.random.default_rng(3)
    for split, trials in (("ibmGestureTrain", ("user01_led", "user02_led")),
                          ("ibmGestureTest", ("user24_led",))):  # fmt: skip
        for trial in trials:
            for label in (0, 2, 10):
                ev = random_events(rng, 500, 128, duration=6000)  # t in ms, as tonic stores it
                array = np.stack([ev["x"], ev["y"], ev["p"], ev["t"]], axis=1)
                (tmp_path / split / trial).mkdir(parents=True, exist_ok=True)
                np.save(tmp_path / split / trial / f"{label}.npy", array)
    cfg = DataConfig(name="dvsgesture", root=str(tmp_path), frame_side=32,
                     cache_dir=str(tmp_path / "cache"), frames_by="count")  # fmt: skip
    splits = load_dataset(cfg, timesteps=4)
    assert splits.train.x.shape == (6, 4, 2, 32, 32) and len(splits.test) == 3
    assert splits.train.y.tolist() == [0, 2, 10, 0, 2, 10]
    np.save(tmp_path / "ibmGestureTest" / "user24_led" / "2.npy", np.zeros((5, 3)))
    with pytest.raises(DatasetError, match=r"2\.npy: expected an \(N, 4\) array"):
        load_dataset(cfg, timesteps=4)


def test_real_aedat2_recordings(shared_data) -> None:
    files = sorted((shared_data / "events").glob("*.aedat"))
    assert len(files) == 5
    counts = {}
    for path in files:
        ev = read_aedat2_dvs128(path)
        assert ev["x"].max() <= 127 and ev["y"].max() <= 127 and set(ev["p"]) == {0, 1}
        assert np.all(np.diff(ev["t"]) >= 0)
        counts[path.name] = len(ev)
    # the AER-DAT 2.0 body is 8 bytes per event after the '#' header lines
    assert counts["neal_walking.aedat"] == 70304


def test_cifar10dvs_tonic_layout_reads_aedat4(tmp_path) -> None:
    pytest.importorskip("aedat", reason="tonic reads .aedat4 with the 'aedat' package")
    rng = np.random.default_rng(4)
    known = events(x=[0, 127, 5], y=[3, 127, 100], t=[1, 2, 4_000_000], p=[1, 0, 1])
    write_aedat4(tmp_path / "airplane" / "0.aedat4", known)
    for name in ("airplane", "truck"):
        for i in range(1, 3):
            write_aedat4(tmp_path / name / f"{i}.aedat4", random_events(rng, 300, 128))
    np.testing.assert_array_equal(read_aedat4_events(tmp_path / "airplane" / "0.aedat4")["y"],
                                  known["y"])  # fmt: skip
    cfg = DataConfig(name="cifar10dvs", root=str(tmp_path), frame_side=64,
                     cache_dir=str(tmp_path / "cache"))  # fmt: skip
    splits = load_dataset(cfg, timesteps=2)
    assert splits.train.x.shape == (3, 2, 2, 64, 64) and splits.test.y.tolist() == [0, 9]
    assert splits.train.x[0, 0, 1, 1, 0] == 1  # ON event at x=0, y=3 -> (y, x) = (1, 0) at 64
    (tmp_path / "truck" / "2.aedat4").write_bytes(b"#!AER-DAT4.0\r\n\x05")
    with pytest.raises(DatasetError, match=r"truck/2\.aedat4: cannot read AEDAT 4"):
        load_dataset(cfg, timesteps=2)
