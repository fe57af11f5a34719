"""snnstudio: a workbench for backdoor attacks and defences on spiking neural networks."""

from snnstudio.core.threads import prefer_passive_wait

# Before any snnstudio module imports torch: OpenMP reads its wait policy when torch loads.
prefer_passive_wait()

__version__ = "0.1.0"
