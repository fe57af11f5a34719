"""The paper, claim by claim: each numeric finding beside ours, with a verdict by a stated rule.

A claim is measured on the sweeps of the paper presets that cover it (their spec's `paper`).
Its verdict is `holds` or `fails` by the rule in its row, read on the mean over seeds, and
again on each seed alone: where those disagree the row says the verdict depends on the seed.
A claim no given sweep measures is `not covered`, with why: a setting this tool does not run
at that scale (CIFAR-10, neuromorphic data, LIF vs IF ResNet18) or a preset not given.
Every number is in %; the scale, the Eq. 10 weighting, the pooling of converted nets and the
Spike-Norm scaling each row used are stated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnstudio.core import paper
from snnstudio.core.atomic_files import write_text_atomic
from snnstudio.core.sweep.claim_rules import (
    Evidence,
    NoEvidence,
    Outcome,
    axis_barely_matters,
    com3_lowers_mr,
    com4_mr,
    com_asr_over_85,
    elimination,
    fig9_asr_over_95,
    fig9_lr_c_acc_drop,
    fig9_lr_c_asr,
    lr_b_low_pr,
    lr_b_near_100,
    lr_c_asr_near_100,
    lr_c_fastest_lr_h_slowest,
    lr_c_harder_targets,
    lr_c_mr_over_99,
    lr_h_lower_asr_higher_acc,
    lr_h_more_robust,
    lr_h_reaches_90,
    maxnorm_mr,
    spike_half_mr,
    spike_half_mr_99,
    spike_norm_small_scales,
    table1_asr_100,
    table1_asr_at_least,
    table1_snn_moves_less,
)
from snnstudio.core.sweep.describe import markdown_table
from snnstudio.core.sweep.view import read_sweep

HOLDS, FAILS, NOT_COVERED = "holds", "fails", "not covered"


@dataclass(frozen=True)
class Claim:
    """One finding of the paper: where it is, what it says, which presets measure it, the
    rule of its verdict, and the measurement (None: not measurable in this sweep)."""

    id: str
    statement: str
    presets: tuple[str, ...]  # the `paper` keys of the sweeps that measure it
    rule: str
    measure: Callable[[Evidence], Outcome | NoEvidence | None] | None = None
    uncovered: str = ""  # why no preset here measures it


def _quote(claim_id: str) -> str:
    item = paper.text_claims()[claim_id]
    return f'"{item["quote"]}" ({item["section"]}, line {item["source_line"]})'


# ---------------------------------------------------------------- the claims

CIFAR = "the paper measures it on CIFAR-10, which no preset runs at this scale"
CLAIMS: tuple[Claim, ...] = (
    Claim("C01", _quote("C01"), ("table2", "fig17", "fig18"),
          "holds if some LR_C cell's mean MR >= 99", lr_c_mr_over_99),
    Claim("C02", _quote("C02"), ("fig9", "table3", "table4"),
          "holds if LR_B's mean ASR >= 95 and its ACC is within 5 points of its clean twin's "
          "(where one was trained)", lr_b_near_100),
    Claim("C03", _quote("C03"), ("fig12",), "holds if every model's ASR at PR 0.01 >= 90",
          lr_b_low_pr),
    Claim("C04", _quote("C04"), (), "", uncovered="needs LIF vs IF ResNet18 on CIFAR-10"),
    Claim("C05", _quote("C05"), (), "", uncovered="needs LIF vs IF ResNet18 on CIFAR-10"),
    Claim("C06", _quote("C06"), (), "", uncovered="N-MNIST: no paper preset runs event data"),
    Claim("C07", _quote("C07"), (), "", uncovered="CIFAR10-DVS and DVS128 Gesture: no preset"),
    Claim("C08", _quote("C08"), ("fig9", "table3", "table4", "fig17"),
          "holds if most of LR_C's unscaled (scale 1) cells at PR 0.1 have mean ASR >= 95 "
          "(the paper: 'in most cases')", lr_c_asr_near_100),
    Claim("C09", _quote("C09"), ("fig17",),
          "holds if Spike-Norm at scale <= 1/3 has ACC >= 2 points above MaxNorm's and "
          "RobustNorm's (scale 1) and ASR at most 10 points below theirs",
          spike_norm_small_scales),
    Claim("C10", _quote("C10"), (), "", uncovered="a curve's shape over T on VGG11: read the "
          "against-T figure of paper-fig17 --scale desk --set model.arch=vgg11"),
    Claim("C11", _quote("C11"), (), "", uncovered=f"Com1 on VGG11; {CIFAR}"),
    Claim("C12", _quote("C12"), (), "", uncovered=f"Com1 on ResNet18; {CIFAR}"),
    Claim("C13", _quote("C13"), ("table2",), "holds if every Com3 and Com4 cell's ASR > 85 "
          "(the paper's own tables disagree: Table 2 has Com4 at 82.19 at PR 0.02, Table 9 "
          "Com3's SNN ASR at 15.82-29.82)", com_asr_over_85),
    Claim("C14", _quote("C14"), (), "", uncovered="a definition (PR 0.01 = 1%), not a finding"),
    Claim("C15", _quote("C15"), (), "", uncovered="Com3 on ResNet18 at PR 0.01: no preset"),
    Claim("C16", _quote("C16"), ("fig9",), "holds if LR_B's and LR_C's mean ASR >= 95",
          fig9_asr_over_95),
    Claim("C17", _quote("C17"), ("fig9",), "holds if LR_C's mean ASR is within 2 points of "
          "99.92 or above", fig9_lr_c_asr),
    Claim("C18", _quote("C18"), ("fig9",), "holds if LR_C's backdoored ACC is >= 10 points "
          "below its clean twin's (the paper: 20.9)", fig9_lr_c_acc_drop),
    Claim("C19", _quote("C19"), ("fig9",), "holds if LR_H's ASR is >= 5 points below and its "
          "ACC >= 5 points above the mean of LR_B and LR_C", lr_h_lower_asr_higher_acc),
    Claim("C20", _quote("C20"), ("fig9",), "holds if LR_H's mean ASR >= 90", lr_h_reaches_90),
    Claim("C21", _quote("C21"), ("table1",), "holds if the SNN's ASR on MNIST (digits at the "
          "laptop scale) >= 99", table1_asr_100),
    Claim("T1-ACC", "Table 1: the SNN's ACC changes under attack far less than the ANN's "
          "(ΔACC -0.14 vs -0.48 VGG11 MNIST; -0.72 vs -10.22 VGG11 CIFAR-10)", ("table1",),
          "holds if |SNN ΔACC| <= half |ANN ΔACC|", table1_snn_moves_less),
    Claim("T1-ASR", "Table 1: the SNN's ASR is at least the ANN's (ΔASR 0 to +1.7)",
          ("table1",), "holds if ΔASR (SNN − ANN) >= -0.5", table1_asr_at_least),
    Claim("C22", _quote("C22"), ("table2", "fig18"), "holds if Spike-Norm 1/2's MR > 90 at "
          "every PR >= 0.06", spike_half_mr),
    Claim("C23", _quote("C23"), ("table2", "fig18"), "holds if Spike-Norm 1/2's MR >= 99 at "
          "PR 0.12 and 0.18", spike_half_mr_99),
    Claim("C24", _quote("C24"), ("fig18", "fig17", "table2"), "holds if MaxNorm's (scale 1) MR "
          ">= 99 at every PR", maxnorm_mr),
    Claim("C25", _quote("C25"), ("table2",), "holds if Com4's MR > 85 at every PR", com4_mr),
    Claim("C26", _quote("C26"), ("table2",), "holds if Com3's mean MR is at most half of "
          "Com4's (the paper: 23.6 against 89.06, its Com4 mean)", com3_lowers_mr),
    Claim("F10-time", '"Obviously, LR_C has the lowest time overhead [...] LR_H costs the '
          'most time overhead" (4.5 Time Overhead of Backdoor Injection, line 297; Fig. 10 '
          'has no numbers)', ("fig10",), "holds if at every PR LR_C's whole run is the "
          "fastest of the three rules and LR_H's the slowest (one thread a point)",
          lr_c_fastest_lr_h_slowest),
    Claim("T3-position", "Table 3: the trigger's corner barely matters (ASR ranges over the "
          "corners: LR_B 1.8, LR_C 7.1, LR_H 6.6)", ("table3",),
          "holds if every rule's ASR range over the corners <= 10 points",
          axis_barely_matters("trigger.position", ("bptt", "conversion", "hybrid"), 10)),
    Claim("T3-LR_H", "Tables 3 and 4: LR_H is the most robust rule (lowest ASR: 86.97 against "
          "LR_B 96.51, LR_C 98.12 bottom-right)", ("table3", "table4"),
          "holds if LR_H's mean ASR is >= 3 points below both LR_B's and LR_C's",
          lr_h_more_robust),
    Claim("T4-target", "Table 4: the target class barely matters for LR_B and LR_H (ASR "
          "ranges 2.4 and 2.6)", ("table4",),
          "holds if LR_B's and LR_H's ASR ranges over the targets <= 5 points",
          axis_barely_matters("poison.target", ("bptt", "hybrid"), 5)),
    Claim("C27", _quote("C27") + "; Table 4's LR_C ASR range 7.9 against 2.4 (LR_B) and 2.6 "
          "(LR_H)", ("table4",), "holds if LR_C's ASR range over the targets is wider than "
          "LR_B's and LR_H's", lr_c_harder_targets),
    Claim("C28", _quote("C28"), ("fig12",), "holds if VGG11's mean ASR drop >= half of 32.75 "
          "and its ACC gain > 0", elimination("vgg11", "C28")),
    Claim("C31", _quote("C31"), ("fig12",), "holds if ResNet18's mean ASR drop >= half of "
          "13.67 and its ACC gain > 0", elimination("resnet18", "C31")),
    Claim("C33", _quote("C33"), (), "", uncovered="background from the literature, not a "
          "finding of the paper"),
)  # fmt: skip


# ---------------------------------------------------------------- verdicts


@dataclass
class ClaimRow:
    claim: Claim
    ours: str
    verdict: str
    scale: str
    seeds: str


def _pools(view: Any) -> tuple[str, ...]:
    """The pooling of a sweep's converted nets (none for LR_B alone)."""
    return tuple(sorted({k["model.pool"] for k in view.known if k["rule.name"] != "bptt"}))


def _spike_scalings(view: Any) -> tuple[str, ...]:
    """Where the scale entered its Spike-Norm nets (rule.spike_scaling; none without them)."""
    return tuple(sorted({str(k["rule.spike_scaling"]) for k in view.known
                         if k["rule.name"] != "bptt" and k["rule.norm"] == "spike"}))  # fmt: skip


def _weightings(view: Any) -> tuple[str, ...]:
    """How its points weighed Eq. 10 (train.loss_weighting)."""
    return tuple(sorted({str(k["train.loss_weighting"]) for k in view.known}))


def _scale_of(views: list[Any]) -> str:
    """'laptop (table2, fig18: digits 600, csnn; Eq. 10 per_sample; pooling spike_count;
    Spike-Norm scaled after)': where a verdict was read, how its training weighed Eq. 10,
    the pooling of the converted nets it used and where the scale entered its Spike-Norm
    nets."""
    configs = [k for view in views for k in view.known]
    pools = sorted({p for view in views for p in _pools(view)})
    scalings = sorted({s for view in views for s in _spike_scalings(view)})
    weightings = sorted({w for view in views for w in _weightings(view)})
    data = ", ".join(
        sorted({f"{k['data.name']} {k['data.train_limit'] or 'all'}" for k in configs})
    )
    arch = ", ".join(sorted({k["model.arch"] for k in configs}))
    papers = ", ".join(dict.fromkeys(v.spec.paper for v in views))
    text = f"{views[0].spec.scale or 'custom'} ({papers}: {data}, {arch}"
    text += f"; Eq. 10 {', '.join(weightings)}"
    text += f"; pooling {', '.join(pools)}" if pools else ""
    return text + (f"; Spike-Norm scaled {', '.join(scalings)})" if scalings else ")")


def _settings(views: list[Any]) -> list[list[Any]]:
    """The sweeps one verdict pools: those of one scale, Eq. 10 weighting, pooling and
    Spike-Norm scaling. A sweep without Spike-Norm nets joins every Spike-Norm scaling of
    its setting, as its points read the same under each."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for view in views:
        key = (view.spec.scale, _weightings(view), _pools(view), _spike_scalings(view))
        groups.setdefault(key, []).append(view)
    out = []
    for (*setting, scalings), group in groups.items():
        free = groups.get((*setting, ()), [])
        if scalings:
            out.append(group + free)
        elif not any(list(k[:3]) == setting and k[3] for k in groups):
            out.append(group)
    return out


def _evidence(view: Any) -> Evidence:
    rows = []
    for cell, known in zip(view.cells, view.known, strict=True):
        rows += [(row, known) for row in cell.rows]
    return Evidence(rows)


def claims_of(sweeps: list[tuple[Path, Any]]) -> list[ClaimRow]:
    """Every claim's rows over these sweeps (path, SweepView), in the paper's order: one row
    per scale, Eq. 10 weighting, pooling and Spike-Norm scaling that measure it (the points
    of all its presets' sweeps at that setting pooled), or one 'not covered' row."""
    out = []
    for claim in CLAIMS:
        views = [v for _, v in sweeps if v.spec.paper in claim.presets]
        groups = _settings(views)
        rows = [row for group in groups if (row := _judge(claim, group)) is not None]
        out += rows or [_uncovered(claim, views)]
    return out


def _uncovered(claim: Claim, views: list[Any]) -> ClaimRow:
    if claim.measure is None:
        return ClaimRow(claim, "–", f"{NOT_COVERED}: {claim.uncovered}", "–", "")
    wanted = ", ".join(f"paper-{p}" for p in claim.presets)
    if not views:
        why = f"no sweep of {wanted} given"
    else:
        given = ", ".join(dict.fromkeys(f"{v.spec.scale} paper-{v.spec.paper}" for v in views))
        why = f"at this scale: the {given} sweep(s) do not run its setting"
    return ClaimRow(claim, "–", f"{NOT_COVERED} {why}" if views else f"{NOT_COVERED}: {why}",
                    "–", "")  # fmt: skip


def _judge(claim: Claim, views: list[Any]) -> ClaimRow | None:
    """The claim's row on these sweeps of one scale pooled, None where they cannot say."""
    if claim.measure is None:
        return None
    evidence = Evidence([row for view in views for row in _evidence(view).rows])
    outcome = claim.measure(evidence)
    if outcome is None:
        return None
    if isinstance(outcome, NoEvidence):
        return ClaimRow(claim, "–", f"{NOT_COVERED}: {outcome.why}", _scale_of(views), "")
    ours, holds = outcome
    per_seed = {s: claim.measure(evidence.only_seed(s)) for s in evidence.seeds()}
    verdicts = {s: o[1] for s, o in per_seed.items() if isinstance(o, tuple)}
    if len(verdicts) < 2:
        seeds = "one seed"
    elif len(set(verdicts.values())) > 1:
        held = [s for s, v in verdicts.items() if v]
        failed = [s for s, v in verdicts.items() if not v]
        seeds = (f"depends on the seed: holds for seed {', '.join(held)}, fails for "
                 f"seed {', '.join(failed)}")  # fmt: skip
    else:
        seeds = f"same verdict for each of {len(verdicts)} seeds"
    used = [v for v in views if claim.measure(_evidence(v)) is not None] or views
    return ClaimRow(claim, ours, HOLDS if holds else FAILS, _scale_of(used), seeds)


def claims_markdown(rows: list[ClaimRow], only_measured: bool = True) -> list[str]:
    """The claims table; in a sweep's own report only the claims that sweep measures."""
    shown = [r for r in rows if r.verdict in (HOLDS, FAILS)] if only_measured else rows
    if not shown:
        return ["No claim of the paper is measured by this sweep."]
    header = ["claim", "the paper", "ours", "verdict", "rule", "measured at", "seeds"]
    body = [[r.claim.id, r.claim.statement, r.ours, f"**{r.verdict}**", r.claim.rule or "–",
             r.scale, r.seeds] for r in shown]  # fmt: skip
    counts = {v: sum(r.verdict.startswith(v) for r in rows) for v in (HOLDS, FAILS, NOT_COVERED)}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    claims = len({r.claim.id for r in rows})
    per = f"{len(rows)} rows for {claims} claims" if len(rows) != claims else f"{claims} claims"
    return [f"{summary} ({per}; a claim measured at several scales, Eq. 10 weightings, "
            "poolings or Spike-Norm scalings has a row each).",
            "", *markdown_table(header, body)]  # fmt: skip


def write_claims(sweep_dirs: list[Path], out: Path | None = None) -> Path:
    """`snnstudio report --claims DIR...`: claims.md over these sweeps (in the first, or `out`)."""
    sweeps = [(d, read_sweep(d)) for d in sweep_dirs]
    lines = ["# The paper, claim by claim", "",
             "Sweeps: " + ", ".join(f"{d} ({v.spec.paper or 'no paper'})" for d, v in sweeps) + ".",
             "Verdicts are read on the mean over seeds by the rule in each row; 'seeds' says "
             "whether each seed alone gives the same verdict.", "",
             *claims_markdown(claims_of(sweeps), only_measured=False)]  # fmt: skip
    path = out or sweep_dirs[0] / "claims.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
