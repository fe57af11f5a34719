"""The scale ladder of the paper presets: `snnstudio sweep --preset paper-X --scale S`.

- laptop: the presets as written (minutes on a CPU: the CSNN on the embedded digits).
- desk: the paper's own architecture (VGG11 and/or ResNet18, as its table or figure uses) on a
  real-MNIST subset, sized for a 2-core machine in hours. `DESK` below is the one place its
  settings live, per preset and per rule, so they are easy to tune.
- paper: the paper's Appendix B for a GPU cluster (run with --backend ray): its datasets, T,
  epochs, optimizers and learning rates, read from the transcription of the paper
  (core/paper/tables.toml) rather than copied.

A scale rewrites the preset's parsed spec before any --set, so --set still wins. Settings
that differ between rules (T, the ANN's optimizer) follow each point's rule: a column of the
preset's [zip] when the rule is on that axis, else [set].
"""

from __future__ import annotations

from typing import Any

from snnstudio.core import paper
from snnstudio.core.errors import ConfigError

SCALES = ("laptop", "desk", "paper")
MNIST_ROOT = "../shared/data/mnist"  # relative to the working directory, as data.root is

# ---------------------------------------------------------------- desk: tune here
# Every preset at desk scale: real MNIST, 6000 training / 1000 test samples, the paper's
# batch 64 and LR_B's Adam lr 1e-3 (the ANN twin takes the paper's per-rule optimizer).
DESK_DATA: dict[str, Any] = {
    "data.name": "mnist", "data.root": MNIST_ROOT, "data.train_limit": 6000,
    "data.test_limit": 1000, "train.batch_size": 64, "train.lr": 1e-3,
}  # fmt: skip
# Per rule: LR_B's epochs and T; LR_C's ANN epochs and the T its SNN is scored at; LR_H's ANN
# epochs, STDB epochs and T. Measured (README "The paper's networks"): VGG11 and ResNet18
# LR_B at T = 4 reach ACC 0.960-0.970 after 5 epochs (LIF seeds 0-1, IF seed 0), 14-18 min
# a point at one thread; the VGG11 ANN twin 0.972 in 3 epochs, converted 0.965 at T = 64; a
# ResNet18 LR_C point 3.6-4.1 min at one thread (a Spike-Norm one about 30).
DESK_RULES: dict[str, dict[str, Any]] = {
    "bptt": {"train.epochs": 5, "sim.timesteps": 4},
    "conversion": {"rule.ann_epochs": 3, "sim.timesteps": 4, "sim.eval_timesteps": 64},
    "hybrid": {"rule.ann_epochs": 3, "train.epochs": 1, "sim.timesteps": 16,
               "sim.eval_timesteps": 16},
}  # fmt: skip
# Per preset: the paper's architecture for that table or figure (and what else differs).
DESK: dict[str, dict[str, Any]] = {
    "paper-table1": {"model.arch": ["vgg11", "resnet18"], "data.name": ["mnist"]},  # Table 1
    "paper-table2": {"model.arch": "vgg11"},  # not stated in the paper: VGG11
    "paper-table3": {"model.arch": "resnet18"},  # Sec. 5.1: ResNet18
    "paper-table4": {"model.arch": "resnet18"},  # Sec. 5.1: ResNet18
    "paper-fig9": {"model.arch": "vgg11"},  # VGG11 and ResNet18; the text's numbers: VGG11
    "paper-fig10": {"model.arch": "vgg11"},  # not stated
    "paper-fig12": {},  # its grid already runs VGG11 and ResNet18
    "paper-fig17": {"model.arch": "resnet18"},  # caption: ResNet18
    "paper-fig18": {"model.arch": "vgg11"},  # Sec. 4.2.2: VGG11
}

# ---------------------------------------------------------------- paper: Appendix B
ALL_PRS = [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2]  # Tables 2 and 9
PAPER_DATA = {  # the paper's datasets where not CIFAR-10 (data.root: --set data.root=DIR), axes
    "paper-table1": {"data.name": ["mnist", "cifar10"], "model.arch": ["vgg11", "resnet18"]},
    "paper-table2": {"poison.rate": ALL_PRS},
    "paper-table4": {"poison.target": list(range(10))},
    "paper-fig17": {"rule.scale": [1.0, 0.5, 0.333, 0.25, 0.2]},  # Sec. 4.2.2's scales
    "paper-fig18": {"poison.rate": ALL_PRS},
}
PAPER_ARCH = {k: v for k, v in DESK.items() if "model.arch" in v}


def paper_rules() -> dict[str, dict[str, Any]]:
    """Per rule, the paper's Appendix B settings (T, epochs, optimizer, lr, batch), read from
    the transcription."""
    steps = paper.setting("timesteps")
    lr_b, lr_c = paper.setting("training_lr_b"), paper.setting("training_lr_c_ann")
    lr_h_ann, lr_h_snn = paper.setting("training_lr_h_ann"), paper.setting("training_lr_h_snn")
    return {
        "bptt": {"sim.timesteps": steps["lr_b_T"], "train.epochs": lr_b["epochs"],
                 "train.lr": lr_b["learning_rate"], "train.batch_size": lr_b["batch"]},
        "conversion": {"sim.timesteps": steps["lr_b_T"], "sim.eval_timesteps": steps["lr_c_T"],
                       "rule.ann_epochs": lr_c["epochs"], "rule.ann_lr": lr_c["learning_rate"],
                       "rule.ann_optimizer": lr_c["optimizer"].lower(),
                       "train.batch_size": lr_c["batch"]},
        "hybrid": {"sim.timesteps": steps["lr_h_T"], "sim.eval_timesteps": steps["lr_h_T"],
                   "rule.ann_epochs": lr_h_ann["epochs"], "rule.ann_lr": lr_h_ann["learning_rate"],
                   "rule.ann_optimizer": lr_h_ann["optimizer"].lower(),
                   "train.epochs": lr_h_snn["epochs"], "train.lr": lr_h_snn["learning_rate"],
                   "train.batch_size": lr_h_snn["batch"]},
    }  # fmt: skip


def paper_data(preset: str) -> dict[str, Any]:
    """The paper's full dataset (CIFAR-10 for its migration, position, class and rule
    experiments) on GPUs."""
    out: dict[str, Any] = {"data.name": "cifar10", "data.train_limit": 0, "data.test_limit": 0,
                           "train.device": "cuda"}  # fmt: skip
    out.update(PAPER_ARCH.get(preset, {}))
    out.update(PAPER_DATA.get(preset, {}))
    return out


def with_scale(data: dict[str, Any], preset: str, scale: str) -> dict[str, Any]:
    """The parsed spec of `preset` at `scale` (laptop: unchanged), its `scale` recorded."""
    if scale not in SCALES:
        raise ConfigError(f"--scale {scale!r} is not one of: {', '.join(SCALES)}")
    data = {**data, "scale": scale}
    if scale == "laptop":
        return data
    if preset not in DESK:
        raise ConfigError(f"--scale {scale} applies to the paper presets ({', '.join(DESK)})")
    if scale == "desk":
        fixed, rules = {**DESK_DATA, **DESK[preset]}, DESK_RULES
    else:
        fixed, rules = paper_data(preset), paper_rules()
    data = {**data, **{t: dict(data.get(t, {})) for t in ("set", "grid", "zip")}}
    for key, value in fixed.items():
        _put(data, key, value)
    _put_per_rule(data, rules)
    return data


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` where the spec has it: an axis takes a list, [set] a value."""
    if key in data["grid"]:
        data["grid"][key] = value if isinstance(value, list) else [value]
    elif isinstance(value, list):
        data["grid"][key] = value
        data["set"].pop(key, None)
    elif key in data["zip"]:
        data["zip"][key] = [value] * len(next(iter(data["zip"].values())))
    else:
        data["set"][key] = value


def _put_per_rule(data: dict[str, Any], rules: dict[str, dict[str, Any]]) -> None:
    """Each rule's settings: a [zip] column when rule.name is zipped, else [set]."""
    zipped = data["zip"].get("rule.name")
    if zipped is None:
        for key, value in rules[data["set"].get("rule.name", "bptt")].items():
            _put(data, key, value)
        return
    keys = dict.fromkeys(k for rule in zipped for k in rules[rule])
    for key in keys:
        defaults = [rules[rule].get(key) for rule in zipped]
        if key in data["zip"]:
            old = data["zip"][key]
            defaults = [new if new is not None else o for new, o in zip(defaults, old, strict=True)]
        else:  # a rule that does not read the key (LR_B's ANN optimizer) takes any valid value
            first = next(d for d in defaults if d is not None)
            defaults = [first if d is None else d for d in defaults]
        data["set"].pop(key, None)
        data["zip"][key] = defaults
