"""What a converter's thresholds cut, seen on the ANN alone (issue 19, RobustNorm): an IF
neuron's firing rate saturates at its threshold, so the converted SNN behaves roughly like its
ANN twin with every ReLU clipped there. This script clips the ANN twin's ReLUs at the
thresholds a converted run chose, all at once and one layer at a time, and scores clean ACC
and ASR on the run's own test sets, so the layer whose cut removes the backdoor can be named.

    python benchmarks/threshold_clipping.py RUN_DIR ANN_TWIN.pt
    # e.g. a fig18 sweep's RobustNorm point and the ANN twin it used (its metrics.json names it):
    python benchmarks/threshold_clipping.py \
        sweeps/fig18/runs/004_rate-0.1_norm-robust_scale-1.0_seed-0 \
        sweeps/fig18/ann-twins/backdoored-<key>.pt

RUN_DIR holds a converted run's model.pt (its header carries the thresholds, first spike layer
to last); the ANN twin file is the sweep's ann-twins/ cache entry (or any `--ann-cache` DIR).
One torch thread; every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from snnstudio.core.defense.loading import LoadedModel, load_model
from snnstudio.core.metrics import accuracy, attack_success_rate, predict
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.models.registry import build_network


def clippable_ann(
    snn: LoadedModel, ann_twin: Path
) -> tuple[SpikingNetwork, list[float], list[float | None]]:
    """The converted run's ANN twin, its thresholds, and a clip ceiling per ReLU (None:
    unclipped) that the caller sets through the returned list."""
    header = snn.checkpoint.header
    thresholds = [float(t) for t in header["thresholds"]]
    shape, classes = tuple(header["image_shape"]), len(header["classes"])
    ann = build_network(snn.config.model, shape, classes, spiking=False)
    ann.load_state_dict(torch.load(ann_twin, map_location="cpu", weights_only=True)["net"])
    relus = [m for m in ann.modules() if isinstance(m, nn.ReLU)]
    if len(relus) != len(thresholds):
        raise SystemExit(f"{len(relus)} ReLUs but {len(thresholds)} thresholds")
    ceilings: list[float | None] = [None] * len(relus)
    for i, relu in enumerate(relus):
        relu.register_forward_hook(
            lambda _m, _a, out, i=i: out if ceilings[i] is None else out.clamp(max=ceilings[i])
        )
    return ann.eval(), thresholds, ceilings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("ann_twin", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    snn = load_model(args.run_dir / "model.pt")
    ann, thresholds, ceilings = clippable_ann(snn, args.ann_twin)
    sets = snn.prepared_data().sets
    device = torch.device("cpu")

    def scores() -> str:
        acc = accuracy(predict(ann, sets.test, 1, "repeat", device), sets.test.y)
        triggered = predict(ann, sets.triggered_test, 1, "repeat", device)
        asr = attack_success_rate(triggered, sets.triggered_test.original_y, sets.target)
        return f"ACC {100 * acc:.1f} ASR {100 * asr:.1f}"

    print(f"{args.run_dir.name}: thresholds {', '.join(f'{t:.2f}' for t in thresholds)}")
    print(f"the ANN twin as trained: {scores()}")
    ceilings[:] = thresholds
    print(f"every layer clipped at its threshold: {scores()}")
    for i, threshold in enumerate(thresholds):
        ceilings[:] = [None] * len(thresholds)
        ceilings[i] = threshold
        print(f"  only layer {i + 1} clipped at {threshold:.2f}: {scores()}")


if __name__ == "__main__":
    main()
