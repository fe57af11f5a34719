"""Dataset loaders on files the tests write in the official formats, and on the real files."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from snnstudio.core.config import DataConfig
from snnstudio.core.data.cifar10 import load_cifar10
from snnstudio.core.data.digits import load_digits_dataset
from snnstudio.core.data.mnist import load_mnist
from snnstudio.core.data.registry import load_dataset
from snnstudio.core.errors import DatasetError


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    return (
        struct.pack(">I", magic)
        + b"".join(struct.pack(">I", d) for d in array.shape)
        + (array.astype(np.uint8).tobytes())
    )


def write_mnist(folder, n_train=30, n_test=10, gz=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, array in files.items():
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def test_digits_is_embedded_stratified_and_mnist_shaped() -> None:
    splits = load_digits_dataset()
    assert len(splits.train) + len(splits.test) == 1797
    assert splits.image_shape == (1, 28, 28)
    assert splits.train.x.min() >= 0.0 and splits.train.x.max() <= 1.0
    counts = np.bincount(splits.test.y, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified 20% split
    again = load_digits_dataset()
    np.testing.assert_array_equal(again.test.x, splits.test.x)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_files(tmp_path, gz) -> None:
    write_mnist(tmp_path, gz=gz)
    splits = load_mnist(tmp_path)
    assert splits.train.x.shape == (30, 1, 28, 28) and splits.test.x.shape == (10, 1, 28, 28)
    assert splits.train.x.dtype == np.float32 and splits.train.x.max() <= 1.0
    np.testing.assert_array_equal(splits.train.y, np.arange(30) % 10)


def test_mnist_torchvision_layout(tmp_path) -> None:
    write_mnist(tmp_path / "MNIST" / "raw", gz=False)
    assert len(load_mnist(tmp_path).train) == 30


def test_mnist_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(DatasetError, match="needs a folder"):
        load_mnist("")
    with pytest.raises(DatasetError, match="folder not found"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(DatasetError, match=r"'train-images-idx3-ubyte'.*not found"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, gz=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    images = tmp_path / "train-images-idx3-ubyte"
    labels.write_bytes(images.read_bytes())
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte: wrong magic number 2051"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, gz=False)
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: expected .*truncated"):
        load_mnist(tmp_path)
    os.remove(images)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz: cannot read"):
        load_mnist(tmp_path)


def cifar_batch(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, n)]


def write_cifar_python(folder) -> None:
    folder.mkdir(parents=True)
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        data, labels = cifar_batch(4, i)
        batch = {b"batch_label": name.encode(), b"data": data, b"labels": labels}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def write_cifar_binary(folder) -> None:
    folder.mkdir(parents=True)
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        data, labels = cifar_batch(4, i)
        records = np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())


def test_cifar10_python_and_binary_versions_agree(tmp_path) -> None:
    write_cifar_python(tmp_path / "py" / "cifar-10-batches-py")
    write_cifar_binary(tmp_path / "bin" / "cifar-10-batches-bin")
    from_py = load_cifar10(tmp_path / "py")
    from_bin = load_cifar10(tmp_path / "bin")
    assert from_py.train.x.shape == (20, 3, 32, 32) and from_py.test.x.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(from_py.train.x, from_bin.train.x)
    np.testing.assert_array_equal(from_py.train.y, from_bin.train.y)
    assert from_py.classes[0] == "airplane" and from_py.num_classes == 10
    data, _ = cifar_batch(4, 0)
    np.testing.assert_allclose(from_bin.train.x[0, 0, 0, :3], data[0, :3] / 255.0, rtol=1e-6)


class Hostile:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned > /dev/null",))


def test_hostile_pickle_is_refused(tmp_path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_python(folder)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Hostile(), b"labels": [1]}))
    with pytest.raises(DatasetError, match=r"data_batch_3: unsafe or corrupt pickle .*refused"):
        load_cifar10(tmp_path)


def test_cifar10_corrupt_files(tmp_path) -> None:
    with pytest.raises(DatasetError, match="no CIFAR-10 batches"):
        load_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_binary(folder)
    (folder / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DatasetError, match=r"test_batch.bin: size 100 is not a multiple"):
        load_cifar10(tmp_path)
    os.remove(folder / "data_batch_2.bin")
    with pytest.raises(DatasetError, match=r"data_batch_2.bin"):
        load_cifar10(tmp_path)


def test_limits_take_seeded_subsets(tmp_path) -> None:
    write_mnist(tmp_path, n_train=50)
    cfg = DataConfig(name="mnist", root=str(tmp_path), train_limit=20, test_limit=5)
    a, b = load_dataset(cfg, seed=3), load_dataset(cfg, seed=3)
    assert len(a.train) == 20 and len(a.test) == 5
    np.testing.assert_array_equal(a.train.x, b.train.x)


def test_real_mnist(shared_data) -> None:
    splits = load_mnist(shared_data / "mnist")
    assert splits.train.x.shape == (60000, 1, 28, 28) and len(splits.test) == 10000
    train_hist = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_hist = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(splits.train.y).tolist() == train_hist
    assert np.bincount(splits.test.y).tolist() == test_hist
