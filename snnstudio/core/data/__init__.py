"""Datasets as in-memory numpy arrays: the embedded digits, MNIST and CIFAR-10."""

from snnstudio.core.data.base import DatasetSplits, SampleSet

__all__ = ["DatasetSplits", "SampleSet"]
