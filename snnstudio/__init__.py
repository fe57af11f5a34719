"""snnstudio: a workbench for backdoor attacks and defences on spiking neural networks."""

__version__ = "0.1.0"
