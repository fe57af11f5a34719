"""LR_B: surrogate-gradient backpropagation through time with the paper's Eq. 10 objective."""

from __future__ import annotations

import time
from collections.abc import Generator

from snnstudio.core.events import Event
from snnstudio.core.rules.context import RuleContext, RuleResult
from snnstudio.core.training import train_epochs


def run_bptt(ctx: RuleContext) -> Generator[Event, None, RuleResult]:
    settings = ctx.settings()
    net = ctx.build()
    started = time.perf_counter()
    metrics = yield from train_epochs(
        net,
        ctx.train_set,
        ctx.sets,
        settings,
        ctx.device,
        ctx.stage,
        ctx.cancel,
        ctx.clean_twin,
        states=ctx.states,
    )
    return RuleResult(net, metrics, {"snn_training": time.perf_counter() - started})
