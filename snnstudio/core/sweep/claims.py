"""The paper, claim by claim: each numeric finding beside ours, with a verdict by a stated rule.

A claim is measured on the sweeps of the paper presets that cover it (their spec's `paper`).
Its verdict is `holds` or `fails` by the rule in its row, read on the mean over seeds, and
again on each seed alone: where those disagree the row says the verdict depends on the seed.
A claim no given sweep measures is `not covered`, with why: a setting this tool does not run
at that scale (CIFAR-10, neuromorphic data, LIF vs IF ResNet18) or a preset not given.
Every number is in %; the scale and the pooling of converted nets each row used are stated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnstudio.core import paper
from snnstudio.core.atomic_files import write_text_atomic
from snnstudio.core.sweep.describe import RULE_NAMES, markdown_table, rule_label
from snnstudio.core.sweep.view import read_sweep

HOLDS, FAILS, NOT_COVERED = "holds", "fails", "not covered"
# Outcome of a measurement: what we measured (text) and whether the rule holds
Outcome = tuple[str, bool]


@dataclass
class Evidence:
    """The completed points of one sweep, each with its full config, seeds optionally chosen."""

    rows: list[tuple[dict[str, Any], dict[str, Any]]]  # (results row, its config's dotted keys)

    def seeds(self) -> list[str]:
        return sorted({str(r.get("seed", "")) for r, _ in self.rows})

    def only_seed(self, seed: str) -> Evidence:
        return Evidence([(r, k) for r, k in self.rows if str(r.get("seed", "")) == seed])

    def _select(self, where: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        def fits(known: dict[str, Any]) -> bool:
            for key, wanted in where.items():
                value = rule_label(known) if key == "rule" else known.get(key)
                if callable(wanted) and not wanted(value):
                    return False
                if not callable(wanted) and str(value) != str(wanted):
                    return False
            return True

        return [(r, k) for r, k in self.rows if fits(k)]

    def mean(self, metric: str, **where: Any) -> float | None:
        """Mean of `metric` in % over the matching points (None when none has it)."""
        found = [float(r[metric]) for r, _ in self._select(where)
                 if r.get(metric) not in (None, "", "nan")]  # fmt: skip
        return 100 * sum(found) / len(found) if found else None

    def by(self, axis: str, metric: str, **where: Any) -> dict[str, float]:
        """Mean of `metric` (%) per value of `axis` ('rule' = the rule's paper name)."""
        values = dict.fromkeys(
            str(rule_label(k) if axis == "rule" else k.get(axis)) for _, k in self._select(where)
        )
        out = {}
        for value in values:
            mean = self.mean(metric, **{**where, axis: value})
            if mean is not None:
                out[value] = mean
        return out


@dataclass(frozen=True)
class Claim:
    """One finding of the paper: where it is, what it says, which presets measure it, the
    rule of its verdict, and the measurement (None: not measurable in this sweep)."""

    id: str
    statement: str
    presets: tuple[str, ...]  # the `paper` keys of the sweeps that measure it
    rule: str
    measure: Callable[[Evidence], Outcome | None] | None = None
    uncovered: str = ""  # why no preset here measures it


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _spread(values: dict[str, float]) -> float:
    return max(values.values()) - min(values.values())


def _all_at_least(values: dict[str, float], low: float) -> Outcome | None:
    if not values:
        return None
    text = ", ".join(f"{k}: {_f(v)}" for k, v in values.items())
    return text, min(values.values()) >= low


def _quote(claim_id: str) -> str:
    item = paper.text_claims()[claim_id]
    return f'"{item["quote"]}" ({item["section"]}, line {item["source_line"]})'


# ---------------------------------------------------------------- the measurements


def _lr_b_near_100(e: Evidence) -> Outcome | None:
    asr, acc, clean = e.mean("asr", rule="LR_B"), e.mean("acc", rule="LR_B"), None
    if asr is None:
        return None
    clean = e.mean("clean_acc", rule="LR_B")
    text = f"LR_B ASR {_f(asr)}, ACC {_f(acc)}" + (f" (clean twin {_f(clean)})" if clean else "")
    return text, asr >= 95 and (clean is None or acc is None or acc >= clean - 5)


def _lr_c_mr_over_99(e: Evidence) -> Outcome | None:
    mrs = e.by("rule", "mr", **{"rule.name": "conversion"})
    if not mrs:
        return None
    best = max(mrs, key=mrs.get)  # type: ignore[arg-type]
    return f"highest LR_C MR {_f(mrs[best])} ({best})", mrs[best] >= 99


def _lr_c_asr_near_100(e: Evidence) -> Outcome | None:
    where = {"rule.name": "conversion", "poison.rate": 0.1, "rule.scale": 1.0}
    values = e.by("rule", "asr", **where)
    if not values:
        return None
    text = ", ".join(f"{k}: {_f(v)}" for k, v in values.items())
    return text, sum(v >= 95 for v in values.values()) > len(values) / 2


def _spike_norm_small_scales(e: Evidence) -> Outcome | None:
    small = e.mean("acc", **{"rule.norm": "spike", "rule.scale": lambda s: float(s) <= 0.34})
    small_asr = e.mean("asr", **{"rule.norm": "spike", "rule.scale": lambda s: float(s) <= 0.34})
    full = e.by("rule", "acc", **{"rule.norm": lambda n: n in ("max", "robust"), "rule.scale": 1.0})
    full_asr = e.mean("asr", **{"rule.norm": lambda n: n in ("max", "robust"), "rule.scale": 1.0})
    if small is None or not full or small_asr is None or full_asr is None:
        return None
    text = (f"Spike-Norm scale ≤ 1/3: ACC {_f(small)}, ASR {_f(small_asr)}; MaxNorm/RobustNorm "
            f"scale 1: ACC {', '.join(_f(v) for v in full.values())}, "
            f"ASR {_f(full_asr)}")  # fmt: skip
    return text, small >= max(full.values()) + 2 and small_asr >= full_asr - 10


def _com_asr_over_85(e: Evidence) -> Outcome | None:
    values = {}
    for combo in ("com3", "com4"):
        where = {"rule.name": "hybrid", "rule.combo": combo}
        for pr, asr in e.by("poison.rate", "asr", **where).items():
            values[f"{combo.capitalize()} PR {pr}"] = asr
    return _all_at_least(values, 85)


def _fig9_asr_over_95(e: Evidence) -> Outcome | None:
    values = {k: v for k, v in e.by("rule", "asr").items() if k.startswith(("LR_B", "LR_C"))}
    return _all_at_least(values, 95)


def _fig9_lr_c_asr(e: Evidence) -> Outcome | None:
    asr = e.mean("asr", **{"rule.name": "conversion"})
    return None if asr is None else (f"LR_C ASR {_f(asr)}", asr >= 97.92)


def _fig9_lr_c_acc_drop(e: Evidence) -> Outcome | None:
    acc, clean = (e.mean(m, **{"rule.name": "conversion"}) for m in ("acc", "clean_acc"))
    if acc is None or clean is None:
        return None
    return f"LR_C ACC clean {_f(clean)} -> backdoored {_f(acc)}", clean - acc >= 10


def _lr_h_lower_asr_higher_acc(e: Evidence) -> Outcome | None:
    asr, acc = e.by("rule", "asr"), e.by("rule", "acc")
    hybrid = [k for k in asr if k.startswith("LR_H")]
    others = [k for k in asr if k.startswith(("LR_B", "LR_C"))]
    if not hybrid or not others:
        return None
    h_asr, h_acc = asr[hybrid[0]], acc[hybrid[0]]
    o_asr = sum(asr[k] for k in others) / len(others)
    o_acc = sum(acc[k] for k in others) / len(others)
    text = (f"LR_H ASR {_f(h_asr)}, ACC {_f(h_acc)}; mean of LR_B and LR_C: ASR {_f(o_asr)}, "
            f"ACC {_f(o_acc)}")  # fmt: skip
    return text, h_asr <= o_asr - 5 and h_acc >= o_acc + 5


def _lr_h_reaches_90(e: Evidence) -> Outcome | None:
    asr = e.mean("asr", **{"rule.name": "hybrid"})
    return None if asr is None else (f"LR_H ASR {_f(asr)}", asr >= 90)


def _table1_asr_100(e: Evidence) -> Outcome | None:
    asr = e.mean("asr", **{"data.name": lambda d: d in ("mnist", "digits")})
    return None if asr is None else (f"SNN ASR {_f(asr)}", asr >= 99)


def _table1_snn_moves_less(e: Evidence) -> Outcome | None:
    snn, ann = e.mean("delta_acc"), e.mean("delta_ann_acc")
    if snn is None or ann is None:
        return None
    return f"ΔACC SNN {_f(snn)}, ANN {_f(ann)}", abs(snn) <= 0.5 * abs(ann)


def _table1_asr_at_least(e: Evidence) -> Outcome | None:
    delta = e.mean("delta_asr")
    return None if delta is None else (f"ΔASR (SNN − ANN) {_f(delta)}", delta >= -0.5)


def _spike_half_mr(e: Evidence) -> Outcome | None:
    where = {"rule.norm": "spike", "rule.scale": 0.5, "poison.rate": lambda p: float(p) >= 0.06}
    return _all_at_least(e.by("poison.rate", "mr", **where), 90)


def _spike_half_mr_99(e: Evidence) -> Outcome | None:
    where = {
        "rule.norm": "spike",
        "rule.scale": 0.5,
        "poison.rate": lambda p: float(p) in (0.12, 0.18),
    }
    return _all_at_least(e.by("poison.rate", "mr", **where), 99)


def _maxnorm_mr(e: Evidence) -> Outcome | None:
    where = {"rule.name": "conversion", "rule.norm": "max", "rule.scale": 1.0}
    return _all_at_least(e.by("poison.rate", "mr", **where), 99)


def _com4_mr(e: Evidence) -> Outcome | None:
    return _all_at_least(
        e.by("poison.rate", "mr", **{"rule.name": "hybrid", "rule.combo": "com4"}), 85
    )


def _com3_lowers_mr(e: Evidence) -> Outcome | None:
    com3 = e.mean("mr", **{"rule.name": "hybrid", "rule.combo": "com3"})
    com4 = e.mean("mr", **{"rule.name": "hybrid", "rule.combo": "com4"})
    if com3 is None or com4 is None:
        return None
    return f"mean MR Com4 {_f(com4)} -> Com3 {_f(com3)}", com3 <= 0.5 * com4


def _axis_barely_matters(axis: str, rules: tuple[str, ...], limit: float) -> Callable:
    def measure(e: Evidence) -> Outcome | None:
        spreads = {}
        for rule in rules:
            values = e.by(axis, "asr", **{"rule.name": rule})
            if len(values) >= 2:
                spreads[RULE_NAMES[rule]] = _spread(values)
        if not spreads:
            return None
        text = "ASR range: " + ", ".join(f"{k} {_f(v)}" for k, v in spreads.items())
        return text, max(spreads.values()) <= limit

    return measure


def _lr_c_harder_targets(e: Evidence) -> Outcome | None:
    spreads = {r: e.by("poison.target", "asr", **{"rule.name": r}) for r in
               ("bptt", "conversion", "hybrid")}  # fmt: skip
    if any(len(v) < 2 for v in spreads.values()):
        return None
    s = {k: _spread(v) for k, v in spreads.items()}
    text = (f"ASR range over targets: LR_B {_f(s['bptt'])}, LR_C {_f(s['conversion'])}, "
            f"LR_H {_f(s['hybrid'])}")  # fmt: skip
    return text, s["conversion"] > max(s["bptt"], s["hybrid"])


def _lr_h_more_robust(e: Evidence) -> Outcome | None:
    asr = {r: e.mean("asr", **{"rule.name": r}) for r in ("bptt", "conversion", "hybrid")}
    if any(v is None for v in asr.values()):
        return None
    text = (
        f"mean ASR LR_B {_f(asr['bptt'])}, LR_C {_f(asr['conversion'])}, LR_H {_f(asr['hybrid'])}"
    )
    return text, asr["hybrid"] <= min(asr["bptt"], asr["conversion"]) - 3  # type: ignore[operator]


def _elimination(arch: str, claim_id: str) -> Callable:
    published = paper.text_claims()[claim_id]["values"]

    def measure(e: Evidence) -> Outcome | None:
        drop, gain = (e.mean(m, **{"model.arch": arch}) for m in ("asr_drop", "acc_gain"))
        if drop is None or gain is None:
            return None
        text = f"{arch}: mean ASR drop {_f(drop)}, ACC gain {_f(gain)}"
        return text, drop >= 0.5 * published[0] and gain > 0

    return measure


def _lr_b_low_pr(e: Evidence) -> Outcome | None:
    return _all_at_least(e.by("model.arch", "asr_before", **{"poison.rate": 0.01}), 90)


# ---------------------------------------------------------------- the claims

CIFAR = "the paper measures it on CIFAR-10, which no preset runs at this scale"
CLAIMS: tuple[Claim, ...] = (
    Claim("C01", _quote("C01"), ("table2", "fig17", "fig18"),
          "holds if some LR_C cell's mean MR >= 99", _lr_c_mr_over_99),
    Claim("C02", _quote("C02"), ("fig9", "table3", "table4"),
          "holds if LR_B's mean ASR >= 95 and its ACC is within 5 points of its clean twin's "
          "(where one was trained)", _lr_b_near_100),
    Claim("C03", _quote("C03"), ("fig12",), "holds if every model's ASR at PR 0.01 >= 90",
          _lr_b_low_pr),
    Claim("C04", _quote("C04"), (), "", uncovered="needs LIF vs IF ResNet18 on CIFAR-10"),
    Claim("C05", _quote("C05"), (), "", uncovered="needs LIF vs IF ResNet18 on CIFAR-10"),
    Claim("C06", _quote("C06"), (), "", uncovered="N-MNIST: no paper preset runs event data"),
    Claim("C07", _quote("C07"), (), "", uncovered="CIFAR10-DVS and DVS128 Gesture: no preset"),
    Claim("C08", _quote("C08"), ("fig9", "table3", "table4", "fig17"),
          "holds if most of LR_C's unscaled (scale 1) cells at PR 0.1 have mean ASR >= 95 "
          "(the paper: 'in most cases')", _lr_c_asr_near_100),
    Claim("C09", _quote("C09"), ("fig17",),
          "holds if Spike-Norm at scale <= 1/3 has ACC >= 2 points above MaxNorm's and "
          "RobustNorm's (scale 1) and ASR at most 10 points below theirs",
          _spike_norm_small_scales),
    Claim("C10", _quote("C10"), (), "", uncovered="a curve's shape over T on VGG11: read the "
          "against-T figure of paper-fig17 --scale desk --set model.arch=vgg11"),
    Claim("C11", _quote("C11"), (), "", uncovered=f"Com1 on VGG11; {CIFAR}"),
    Claim("C12", _quote("C12"), (), "", uncovered=f"Com1 on ResNet18; {CIFAR}"),
    Claim("C13", _quote("C13"), ("table2",), "holds if every Com3 and Com4 cell's ASR > 85 "
          "(the paper's own tables disagree: Table 2 has Com4 at 82.19 at PR 0.02, Table 9 "
          "Com3's SNN ASR at 15.82-29.82)", _com_asr_over_85),
    Claim("C14", _quote("C14"), (), "", uncovered="a definition (PR 0.01 = 1%), not a finding"),
    Claim("C15", _quote("C15"), (), "", uncovered="Com3 on ResNet18 at PR 0.01: no preset"),
    Claim("C16", _quote("C16"), ("fig9",), "holds if LR_B's and LR_C's mean ASR >= 95",
          _fig9_asr_over_95),
    Claim("C17", _quote("C17"), ("fig9",), "holds if LR_C's mean ASR is within 2 points of "
          "99.92 or above", _fig9_lr_c_asr),
    Claim("C18", _quote("C18"), ("fig9",), "holds if LR_C's backdoored ACC is >= 10 points "
          "below its clean twin's (the paper: 20.9)", _fig9_lr_c_acc_drop),
    Claim("C19", _quote("C19"), ("fig9",), "holds if LR_H's ASR is >= 5 points below and its "
          "ACC >= 5 points above the mean of LR_B and LR_C", _lr_h_lower_asr_higher_acc),
    Claim("C20", _quote("C20"), ("fig9",), "holds if LR_H's mean ASR >= 90", _lr_h_reaches_90),
    Claim("C21", _quote("C21"), ("table1",), "holds if the SNN's ASR on MNIST (digits at the "
          "laptop scale) >= 99", _table1_asr_100),
    Claim("T1-ACC", "Table 1: the SNN's ACC changes under attack far less than the ANN's "
          "(ΔACC -0.14 vs -0.48 VGG11 MNIST; -0.72 vs -10.22 VGG11 CIFAR-10)", ("table1",),
          "holds if |SNN ΔACC| <= half |ANN ΔACC|", _table1_snn_moves_less),
    Claim("T1-ASR", "Table 1: the SNN's ASR is at least the ANN's (ΔASR 0 to +1.7)",
          ("table1",), "holds if ΔASR (SNN − ANN) >= -0.5", _table1_asr_at_least),
    Claim("C22", _quote("C22"), ("table2", "fig18"), "holds if Spike-Norm 1/2's MR > 90 at "
          "every PR >= 0.06", _spike_half_mr),
    Claim("C23", _quote("C23"), ("table2", "fig18"), "holds if Spike-Norm 1/2's MR >= 99 at "
          "PR 0.12 and 0.18", _spike_half_mr_99),
    Claim("C24", _quote("C24"), ("fig18", "fig17", "table2"), "holds if MaxNorm's (scale 1) MR "
          ">= 99 at every PR", _maxnorm_mr),
    Claim("C25", _quote("C25"), ("table2",), "holds if Com4's MR > 85 at every PR", _com4_mr),
    Claim("C26", _quote("C26"), ("table2",), "holds if Com3's mean MR is at most half of "
          "Com4's (the paper: 23.6 against 89.06, its Com4 mean)", _com3_lowers_mr),
    Claim("T3-position", "Table 3: the trigger's corner barely matters (ASR ranges over the "
          "corners: LR_B 1.8, LR_C 7.1, LR_H 6.6)", ("table3",),
          "holds if every rule's ASR range over the corners <= 10 points",
          _axis_barely_matters("trigger.position", ("bptt", "conversion", "hybrid"), 10)),
    Claim("T3-LR_H", "Tables 3 and 4: LR_H is the most robust rule (lowest ASR: 86.97 against "
          "LR_B 96.51, LR_C 98.12 bottom-right)", ("table3", "table4"),
          "holds if LR_H's mean ASR is >= 3 points below both LR_B's and LR_C's",
          _lr_h_more_robust),
    Claim("T4-target", "Table 4: the target class barely matters for LR_B and LR_H (ASR "
          "ranges 2.4 and 2.6)", ("table4",),
          "holds if LR_B's and LR_H's ASR ranges over the targets <= 5 points",
          _axis_barely_matters("poison.target", ("bptt", "hybrid"), 5)),
    Claim("C27", _quote("C27") + "; Table 4's LR_C ASR range 7.9 against 2.4 (LR_B) and 2.6 "
          "(LR_H)", ("table4",), "holds if LR_C's ASR range over the targets is wider than "
          "LR_B's and LR_H's", _lr_c_harder_targets),
    Claim("C28", _quote("C28"), ("fig12",), "holds if VGG11's mean ASR drop >= half of 32.75 "
          "and its ACC gain > 0", _elimination("vgg11", "C28")),
    Claim("C31", _quote("C31"), ("fig12",), "holds if ResNet18's mean ASR drop >= half of "
          "13.67 and its ACC gain > 0", _elimination("resnet18", "C31")),
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


def _scale_of(views: list[Any]) -> str:
    """'laptop (table2, fig18: digits 600, csnn; pooling spike_count)': where a verdict was
    read, and the pooling of the converted nets it used."""
    configs = [k for view in views for k in view.known]
    pools = sorted({p for view in views for p in _pools(view)})
    data = ", ".join(
        sorted({f"{k['data.name']} {k['data.train_limit'] or 'all'}" for k in configs})
    )
    arch = ", ".join(sorted({k["model.arch"] for k in configs}))
    papers = ", ".join(dict.fromkeys(v.spec.paper for v in views))
    text = f"{views[0].spec.scale or 'custom'} ({papers}: {data}, {arch}"
    return text + (f"; pooling {', '.join(pools)})" if pools else ")")


def _evidence(view: Any) -> Evidence:
    rows = []
    for cell, known in zip(view.cells, view.known, strict=True):
        rows += [(row, known) for row in cell.rows]
    return Evidence(rows)


def claims_of(sweeps: list[tuple[Path, Any]]) -> list[ClaimRow]:
    """Every claim's rows over these sweeps (path, SweepView), in the paper's order: one row
    per scale and pooling that measure it (the points of all its presets' sweeps at that
    scale and pooling pooled), or one 'not covered' row."""
    out = []
    for claim in CLAIMS:
        views = [v for _, v in sweeps if v.spec.paper in claim.presets]
        scales: dict[tuple[str, tuple[str, ...]], list[Any]] = {}
        for view in views:
            scales.setdefault((view.spec.scale, _pools(view)), []).append(view)
        rows = [row for group in scales.values() if (row := _judge(claim, group)) is not None]
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
    ours, holds = outcome
    per_seed = {s: claim.measure(evidence.only_seed(s)) for s in evidence.seeds()}
    verdicts = {s: o[1] for s, o in per_seed.items() if o is not None}
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
    header = ["claim", "the paper", "ours", "verdict", "rule", "scale (pooling)", "seeds"]
    body = [[r.claim.id, r.claim.statement, r.ours, f"**{r.verdict}**", r.claim.rule or "–",
             r.scale, r.seeds] for r in shown]  # fmt: skip
    counts = {v: sum(r.verdict.startswith(v) for r in rows) for v in (HOLDS, FAILS, NOT_COVERED)}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    claims = len({r.claim.id for r in rows})
    per = f"{len(rows)} rows for {claims} claims" if len(rows) != claims else f"{claims} claims"
    return [f"{summary} ({per}; a claim measured at several scales or poolings has a row each).",
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
