"""The paper's elimination route for conversion (LR_C) and hybrid (LR_H) models: convert
again with a clean reference, then STDB fine-tuning on clean data (Table 8's Com3 steps
applied to a given checkpoint).

A converted SNN keeps the parameter names of its ANN twin; `threshold_balancing.
ann_state_dict` divides the thresholds back out of its weights, the ANN twin gets them, and
`rules.conversion.convert` turns it into an IF SNN with thresholds balanced on the clean
data (rule.norm x rule.scale of the checkpoint's config). The STDB step uses the hybrid
rule's neurons and frozen batch norm. For an LR_H checkpoint the weights are those after
its (poisoned) STDB step: the original ANN is not stored in a checkpoint.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from snnstudio.core.config import ExperimentConfig
from snnstudio.core.data.base import SampleSet
from snnstudio.core.defense.loading import LoadedModel
from snnstudio.core.errors import ConfigError
from snnstudio.core.events import CancelToken, Event, Log
from snnstudio.core.models.network import SpikingNetwork
from snnstudio.core.rules.context import RuleContext
from snnstudio.core.rules.conversion import convert, converted_config, describe_thresholds
from snnstudio.core.rules.registry import converts_ann
from snnstudio.core.rules.stdb import stdb_training
from snnstudio.core.rules.threshold_balancing import ann_state_dict
from snnstudio.core.runner import PreparedData
from snnstudio.core.training import TrainSettings, evaluate, train_epochs


def require_converted(cfg: ExperimentConfig) -> None:
    if not converts_ann(cfg.rule.name):
        raise ConfigError(
            f"method 'reconvert' needs a model made by rule.name = 'conversion' or 'hybrid'; "
            f"this checkpoint was trained with '{cfg.rule.name}' (use finetune or fineprune)"
        )


def reconvert_clean(
    model: LoadedModel,
    data: PreparedData,
    clean: SampleSet,
    train: TrainSettings,
    cancel: CancelToken | None,
) -> Generator[Event, None, tuple[SpikingNetwork, ExperimentConfig, dict[str, Any]]]:
    """Clean re-conversion, then `train.epochs` of clean STDB (none when 0).

    Returns the new SNN, the config it runs under and the metrics after re-conversion.
    """
    cfg = model.config
    require_converted(cfg)
    timesteps = cfg.sim.timesteps
    ctx = RuleContext(
        cfg, data.splits, clean, data.sets, model.device, model.network.step_mode, "reconvert",
        cancel,
    )  # fmt: skip
    ann = ctx.build_ann_twin()
    ann.load_state_dict(ann_state_dict(model.network))  # thresholds divided back out
    snn = convert(ctx, ann, clean, timesteps)
    yield Log(
        f"re-converted with {cfg.rule.norm} norm x {cfg.rule.scale:g} on {len(clean)} clean "
        f"samples, T = {timesteps}: thresholds {describe_thresholds(snn)}"
    )
    converted = evaluate(snn, data.sets, timesteps, cfg.sim.encoder, model.device)
    yield Log(f"after clean re-conversion: acc {converted['acc']:.4f} asr {converted['asr']:.4f}")
    config = converted_config(cfg, timesteps)
    if train.epochs > 0:
        with stdb_training(snn, config.model, cfg.rule.stdb_alpha, cfg.rule.stdb_beta):
            yield from train_epochs(
                snn, clean, data.sets, train, model.device, "reconvert-stdb", cancel
            )
    return snn, config, {"acc_reconverted": converted["acc"], "asr_reconverted": converted["asr"]}
