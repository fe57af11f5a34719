"""The measurements behind the paper's claims (claims.py): each reads a claim's points of
the sweeps that cover it (`Evidence`) and gives what we measured, as text, and whether the
claim's rule holds on it, or None when those points cannot say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from snnstudio.core import paper
from snnstudio.core.sweep.describe import RULE_NAMES, rule_label

# Outcome of a measurement: what we measured (text) and whether the rule holds
Outcome = tuple[str, bool]


@dataclass(frozen=True)
class NoEvidence:
    """The claim's points were run but cannot test it (say, no backdoor to remove), and why."""

    why: str


@dataclass
class Evidence:
    """The completed points of one sweep, each with its full config, seeds optionally chosen."""

    rows: list[tuple[dict[str, Any], dict[str, Any]]]  # (results row, its config's dotted keys)

    def seeds(self) -> list[str]:
        return sorted({str(r.get("seed", "")) for r, _ in self.rows})

    def only_seed(self, seed: str) -> Evidence:
        return Evidence([(r, k) for r, k in self.rows if str(r.get("seed", "")) == seed])

    def select(self, **where: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The points whose config matches `where` (a value, or a test of the value)."""

        def fits(known: dict[str, Any]) -> bool:
            for key, wanted in where.items():
                value = rule_label(known) if key == "rule" else known.get(key)
                if callable(wanted) and not wanted(value):
                    return False
                if not callable(wanted) and str(value) != str(wanted):
                    return False
            return True

        return [(r, k) for r, k in self.rows if fits(k)]

    def mean(self, metric: str, unit: float = 100.0, **where: Any) -> float | None:
        """Mean of `metric` times `unit` (in % by default) over the matching points (None when
        none has it)."""
        found = [float(r[metric]) for r, _ in self.select(**where)
                 if r.get(metric) not in (None, "", "nan")]  # fmt: skip
        return unit * sum(found) / len(found) if found else None

    def by(self, axis: str, metric: str, unit: float = 100.0, **where: Any) -> dict[str, float]:
        """Mean of `metric` (% by default) per value of `axis` ('rule' = the rule's paper
        name)."""
        values = dict.fromkeys(
            str(rule_label(k) if axis == "rule" else k.get(axis)) for _, k in self.select(**where)
        )
        out = {}
        for value in values:
            mean = self.mean(metric, unit, **{**where, axis: value})
            if mean is not None:
                out[value] = mean
        return out


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _spread(values: dict[str, float]) -> float:
    return max(values.values()) - min(values.values())


def _all_at_least(values: dict[str, float], low: float) -> Outcome | None:
    if not values:
        return None
    text = ", ".join(f"{k}: {_f(v)}" for k, v in values.items())
    return text, min(values.values()) >= low


# ---------------------------------------------------------------- the measurements


def lr_b_near_100(e: Evidence) -> Outcome | None:
    asr, acc, clean = e.mean("asr", rule="LR_B"), e.mean("acc", rule="LR_B"), None
    if asr is None:
        return None
    clean = e.mean("clean_acc", rule="LR_B")
    text = f"LR_B ASR {_f(asr)}, ACC {_f(acc)}" + (f" (clean twin {_f(clean)})" if clean else "")
    return text, asr >= 95 and (clean is None or acc is None or acc >= clean - 5)


def lr_c_mr_over_99(e: Evidence) -> Outcome | None:
    mrs = e.by("rule", "mr", **{"rule.name": "conversion"})
    if not mrs:
        return None
    best = max(mrs, key=mrs.get)  # type: ignore[arg-type]
    return f"highest LR_C MR {_f(mrs[best])} ({best})", mrs[best] >= 99


def lr_c_asr_near_100(e: Evidence) -> Outcome | None:
    where = {"rule.name": "conversion", "poison.rate": 0.1, "rule.scale": 1.0}
    values = e.by("rule", "asr", **where)
    if not values:
        return None
    text = ", ".join(f"{k}: {_f(v)}" for k, v in values.items())
    return text, sum(v >= 95 for v in values.values()) > len(values) / 2


def spike_norm_small_scales(e: Evidence) -> Outcome | None:
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


def com_asr_over_85(e: Evidence) -> Outcome | None:
    values = {}
    for combo in ("com3", "com4"):
        where = {"rule.name": "hybrid", "rule.combo": combo}
        for pr, asr in e.by("poison.rate", "asr", **where).items():
            values[f"{combo.capitalize()} PR {pr}"] = asr
    return _all_at_least(values, 85)


def fig9_asr_over_95(e: Evidence) -> Outcome | None:
    values = {k: v for k, v in e.by("rule", "asr").items() if k.startswith(("LR_B", "LR_C"))}
    return _all_at_least(values, 95)


def fig9_lr_c_asr(e: Evidence) -> Outcome | None:
    asr = e.mean("asr", **{"rule.name": "conversion"})
    return None if asr is None else (f"LR_C ASR {_f(asr)}", asr >= 97.92)


def fig9_lr_c_acc_drop(e: Evidence) -> Outcome | None:
    acc, clean = (e.mean(m, **{"rule.name": "conversion"}) for m in ("acc", "clean_acc"))
    if acc is None or clean is None:
        return None
    return f"LR_C ACC clean {_f(clean)} -> backdoored {_f(acc)}", clean - acc >= 10


def lr_h_lower_asr_higher_acc(e: Evidence) -> Outcome | None:
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


def lr_h_reaches_90(e: Evidence) -> Outcome | None:
    asr = e.mean("asr", **{"rule.name": "hybrid"})
    return None if asr is None else (f"LR_H ASR {_f(asr)}", asr >= 90)


def table1_asr_100(e: Evidence) -> Outcome | None:
    asr = e.mean("asr", **{"data.name": lambda d: d in ("mnist", "digits")})
    return None if asr is None else (f"SNN ASR {_f(asr)}", asr >= 99)


def table1_snn_moves_less(e: Evidence) -> Outcome | None:
    snn, ann = e.mean("delta_acc"), e.mean("delta_ann_acc")
    if snn is None or ann is None:
        return None
    return f"ΔACC SNN {_f(snn)}, ANN {_f(ann)}", abs(snn) <= 0.5 * abs(ann)


def table1_asr_at_least(e: Evidence) -> Outcome | None:
    delta = e.mean("delta_asr")
    return None if delta is None else (f"ΔASR (SNN − ANN) {_f(delta)}", delta >= -0.5)


def spike_half_mr(e: Evidence) -> Outcome | None:
    where = {"rule.norm": "spike", "rule.scale": 0.5, "poison.rate": lambda p: float(p) >= 0.06}
    return _all_at_least(e.by("poison.rate", "mr", **where), 90)


def spike_half_mr_99(e: Evidence) -> Outcome | None:
    where = {
        "rule.norm": "spike",
        "rule.scale": 0.5,
        "poison.rate": lambda p: float(p) in (0.12, 0.18),
    }
    return _all_at_least(e.by("poison.rate", "mr", **where), 99)


def maxnorm_mr(e: Evidence) -> Outcome | None:
    where = {"rule.name": "conversion", "rule.norm": "max", "rule.scale": 1.0}
    return _all_at_least(e.by("poison.rate", "mr", **where), 99)


def com4_mr(e: Evidence) -> Outcome | None:
    return _all_at_least(
        e.by("poison.rate", "mr", **{"rule.name": "hybrid", "rule.combo": "com4"}), 85
    )


def com3_lowers_mr(e: Evidence) -> Outcome | None:
    com3 = e.mean("mr", **{"rule.name": "hybrid", "rule.combo": "com3"})
    com4 = e.mean("mr", **{"rule.name": "hybrid", "rule.combo": "com4"})
    if com3 is None or com4 is None:
        return None
    return f"mean MR Com4 {_f(com4)} -> Com3 {_f(com3)}", com3 <= 0.5 * com4


def axis_barely_matters(axis: str, rules: tuple[str, ...], limit: float) -> Callable:
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


def lr_c_harder_targets(e: Evidence) -> Outcome | None:
    spreads = {r: e.by("poison.target", "asr", **{"rule.name": r}) for r in
               ("bptt", "conversion", "hybrid")}  # fmt: skip
    if any(len(v) < 2 for v in spreads.values()):
        return None
    s = {k: _spread(v) for k, v in spreads.items()}
    text = (f"ASR range over targets: LR_B {_f(s['bptt'])}, LR_C {_f(s['conversion'])}, "
            f"LR_H {_f(s['hybrid'])}")  # fmt: skip
    return text, s["conversion"] > max(s["bptt"], s["hybrid"])


def lr_h_more_robust(e: Evidence) -> Outcome | None:
    asr = {r: e.mean("asr", **{"rule.name": r}) for r in ("bptt", "conversion", "hybrid")}
    if any(v is None for v in asr.values()):
        return None
    text = (
        f"mean ASR LR_B {_f(asr['bptt'])}, LR_C {_f(asr['conversion'])}, LR_H {_f(asr['hybrid'])}"
    )
    return text, asr["hybrid"] <= min(asr["bptt"], asr["conversion"]) - 3  # type: ignore[operator]


BACKDOOR_LEARNED = 50.0  # % ASR before elimination below which there is no backdoor to remove


def elimination(arch: str, claim_id: str) -> Callable:
    """The mean ASR drop and ACC gain over the PRs whose model learned the backdoor: a drop
    from an ASR near 0 measures no removal, so such points are named and left out."""
    published = paper.text_claims()[claim_id]["values"]

    def measure(e: Evidence) -> Outcome | NoEvidence | None:
        before = e.by("poison.rate", "asr_before", **{"model.arch": arch})
        unlearned = {pr: asr for pr, asr in before.items() if asr < BACKDOOR_LEARNED}
        asr_before = ", ".join(f"PR {pr}: ASR before {_f(asr)}" for pr, asr in unlearned.items())
        if before and len(unlearned) == len(before):
            return NoEvidence(f"{arch} learned no backdoor to remove ({asr_before})")
        learned = {"model.arch": arch, "poison.rate": lambda pr: str(pr) not in unlearned}
        drop, gain = (e.mean(m, **learned) for m in ("asr_drop", "acc_gain"))
        if drop is None or gain is None:
            return None
        text = f"{arch}: mean ASR drop {_f(drop)}, ACC gain {_f(gain)}"
        if unlearned:
            text += f" (left out, no backdoor learned: {asr_before})"
        return text, drop >= 0.5 * published[0] and gain > 0

    return measure


def lr_b_low_pr(e: Evidence) -> Outcome | None:
    return _all_at_least(e.by("model.arch", "asr_before", **{"poison.rate": 0.01}), 90)


def _hosts(e: Evidence) -> list[str]:
    """The hardware each time was taken on (metrics.json's `hardware`, recorded since
    2026-12-07)."""
    return sorted({str(r.get("hardware") or "not recorded") for r, _ in e.rows})


def lr_c_fastest_lr_h_slowest(e: Evidence) -> Outcome | NoEvidence | None:
    """Fig. 10's ordering of the whole injection's time, at every PR. A point that reused a
    cached ANN twin in any stage (its clean twin's too) did not pay for training it, and a
    resumed one's seconds count its last sitting only, so both are left out. The rules are
    ordered within a PR only on times from one host."""

    def timed_whole(row: dict[str, Any]) -> bool:
        reused_a_twin = any(key.endswith(".ann_loading") and value not in (None, "")
                            for key, value in row.items())  # fmt: skip
        return not reused_a_twin and row.get("resumed_after") in (None, "")

    timed = Evidence([(r, k) for r, k in e.rows if timed_whole(r)])
    per_pr: dict[str, dict[str, float]] = {}
    host_at: dict[str, str] = {}
    on_two_hosts = []
    for pr in timed.by("poison.rate", "seconds.total", 1.0):
        at_pr = Evidence(timed.select(**{"poison.rate": pr}))
        times = at_pr.by("rule.name", "seconds.total", 1.0)
        if not set(RULE_NAMES) <= set(times):
            continue
        hosts = _hosts(at_pr)
        if len(hosts) > 1:  # times from two machines do not order the rules
            on_two_hosts.append(f"PR {pr}: {'; '.join(hosts)}")
            continue
        per_pr[pr] = {RULE_NAMES[rule]: times[rule] for rule in RULE_NAMES}
        host_at[pr] = hosts[0]
    if not per_pr:
        if on_two_hosts:
            return NoEvidence(f"the times were taken on different hosts: {', '.join(on_two_hosts)}")
        return None
    one_host = len(set(host_at.values())) == 1
    per_pr_text = "; ".join(
        f"PR {pr}: "
        + ", ".join(f"{rule} {t:.0f}" for rule, t in times.items())
        + ("" if one_host else f" (host: {host_at[pr]})")
        for pr, times in per_pr.items()
    )
    text = f"time s: {per_pr_text}"
    if one_host:
        text += f" (host: {next(iter(host_at.values()))})"
    if on_two_hosts:
        text += f"; not judged, taken on different hosts: {', '.join(on_two_hosts)}"
    holds = all(min(t, key=t.get) == "LR_C" and max(t, key=t.get) == "LR_H"  # type: ignore[arg-type]
                for t in per_pr.values())  # fmt: skip
    return text, holds
