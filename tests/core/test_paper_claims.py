"""The paper beside ours: per-cell published numbers, its definitions, claims with verdicts,
the scale ladder, and the paper's settings read from its transcription."""

from __future__ import annotations

from pathlib import Path

import pytest

from snnstudio.cli import main
from snnstudio.core import config as config_io
from snnstudio.core import paper
from snnstudio.core.errors import ConfigError
from snnstudio.core.runner import paper_deltas
from snnstudio.core.sweep.claim_rules import Evidence, lr_c_fastest_lr_h_slowest
from snnstudio.core.sweep.paper_values import PaperValues
from snnstudio.core.sweep.report import write_report
from snnstudio.core.sweep.spec import load_sweep_preset
from snnstudio.core.sweep.view import read_sweep
from tests.core.sweep_specs import fake_sweep_dir


def known(**values: object) -> dict:
    return {k.replace("__", "."): v for k, v in values.items()}


def test_each_cell_gets_the_paper_number_of_its_own_setting() -> None:
    table2 = PaperValues.load("table2")
    assert table2 is not None
    com3 = known(rule__name="hybrid", rule__combo="com3", poison__rate=0.1)
    # LR_H's final MR of Table 9 (the printed "0.01" row between 0.08 and 0.12 is PR 0.10),
    # never beside the MR right after conversion
    assert table2.value(com3, "mr").value == 29.40
    assert table2.value(com3, "converted_mr") is None
    spike = known(rule__name="conversion", rule__norm="spike", rule__scale=0.5, poison__rate=0.2)
    assert (table2.value(spike, "asr").value, table2.value(spike, "asr").source) == (
        96.41,
        "Table 2",
    )
    fig17 = PaperValues.load("fig17")
    assert fig17 is not None
    at = known(rule__name="conversion", rule__norm="max", poison__rate=0.1)
    assert fig17.value({**at, "rule.scale": 1.0}, "mr").value == 99.86
    assert fig17.value({**at, "rule.scale": 0.5}, "mr") is None  # no "> 99" at other scales
    table1 = PaperValues.load("table1")
    assert table1 is not None
    cell = known(model__arch="resnet18", data__name="mnist")
    assert table1.value(cell, "delta_acc").value == -0.29  # backdoored − clean, the SNN's


def test_table1_deltas_are_the_papers() -> None:
    metrics = {"acc": 0.90, "clean_acc": 0.95, "ann_acc": 0.91, "clean_ann_acc": 0.99,
               "asr": 0.98, "ann_asr": 0.97, "clean_asr": 0.01}  # fmt: skip
    deltas = paper_deltas(metrics)
    assert deltas["delta_acc"] == pytest.approx(-0.05)  # backdoored − clean
    assert deltas["delta_ann_acc"] == pytest.approx(-0.08)
    assert deltas["delta_asr"] == pytest.approx(0.01)  # SNN − ANN
    assert deltas["asr_gain"] == pytest.approx(0.97)
    assert "delta_acc" not in paper_deltas({"acc": 0.9, "asr": 1.0})


def test_report_flags_mr_above_100_and_states_the_seed_dependence(tmp_path: Path) -> None:
    spec = load_sweep_preset("paper-fig9")

    def metrics(point):  # type: ignore[no-untyped-def]
        rule = point.config.rule.name
        # LR_H's ASR crosses the claim's 90 on seed 1 only
        asr = {"bptt": 1.0, "conversion": 0.99, "hybrid": 0.85 + 0.1 * (point.seed == 1)}[rule]
        out = {"acc": 0.9, "asr": asr, "clean_acc": 0.95, "clean_asr": 0.0}
        if rule != "bptt":
            out.update(ann_acc=0.9, ann_asr=0.98, mr=asr / 0.98, eval_timesteps=32)
        return out

    fake_sweep_dir(tmp_path / "sweep", spec, metrics)
    text = write_report(tmp_path / "sweep").read_text()
    assert "101.0 ± 0.0 †" in text and "† MR above 100%" in text
    row = next(line for line in text.splitlines() if line.startswith("| C20 |"))
    assert "**fails**" in row  # mean ASR 88.3
    assert "depends on the seed: holds for seed 1, fails for seed 0, 2" in row
    assert "pooling spike_count" in row and "laptop (fig9: digits 600, csnn" in row


def test_claims_over_several_sweeps_give_every_claim_a_row(tmp_path: Path) -> None:
    spec = load_sweep_preset("paper-table3")

    def metrics(point):  # type: ignore[no-untyped-def]
        corner = spec.grid["trigger.position"].index(point.config.trigger.position)
        return {"acc": 0.9, "asr": 0.9 + 0.02 * corner}

    fake_sweep_dir(tmp_path / "table3", spec, metrics)
    out = tmp_path / "claims.md"
    assert main(["report", "--claims", str(tmp_path / "table3"), "--out", str(out)]) == 0
    text = out.read_text()
    ids = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    assert {"C01", "C13", "C26", "T3-position", "C33"} <= set(ids)
    position = next(line for line in text.splitlines() if line.startswith("| T3-position |"))
    assert "ASR range: LR_B 6.0, LR_C 6.0, LR_H 6.0" in position and "**holds**" in position
    robust = next(line for line in text.splitlines() if line.startswith("| T3-LR_H |"))
    assert "**fails**" in robust  # the same ASR for every rule
    assert "not covered: no sweep of paper-table2" in text
    assert "not covered: N-MNIST" in text


def test_a_claim_measured_under_two_poolings_has_a_row_for_each(tmp_path: Path) -> None:
    mr = {"spike_count": 1.0, "plain_max": 0.2}
    for pool in mr:
        spec = load_sweep_preset("paper-fig18", [f"model.pool={pool}"])
        fake_sweep_dir(
            tmp_path / pool,
            spec,
            lambda p: {
                "acc": 0.9,
                "asr": mr[p.config.model.pool],
                "ann_asr": 1.0,
                "mr": mr[p.config.model.pool],
            },
        )
    out = tmp_path / "claims.md"
    assert main(["report", "--claims", str(tmp_path / "spike_count"), str(tmp_path / "plain_max"),
                 "--out", str(out)]) == 0  # fmt: skip
    rows = [line for line in out.read_text().splitlines() if line.startswith("| C24 |")]
    assert len(rows) == 2
    assert "**holds**" in rows[0] and "pooling spike_count" in rows[0]
    assert "**fails**" in rows[1] and "pooling plain_max" in rows[1]


def test_desk_scale_runs_the_papers_architecture_on_mnist() -> None:
    table3 = load_sweep_preset("paper-table3", scale="desk")
    configs = [p.config for p in table3.points()]
    assert {c.model.arch for c in configs} == {"resnet18"}  # the paper's Table 3 network
    assert {(c.data.name, c.data.root, c.data.train_limit) for c in configs} == {
        ("mnist", "../shared/data/mnist", 6000)
    }
    assert table3.scale == "desk" and "scale" in table3.dumps()
    table1 = load_sweep_preset("paper-table1", scale="desk")
    assert table1.grid["model.arch"] == ["vgg11", "resnet18"]
    assert load_sweep_preset("paper-table3").scale == "laptop"
    with pytest.raises(ConfigError, match="is not one of: laptop, desk, paper"):
        load_sweep_preset("paper-table3", scale="huge")


def test_paper_scale_takes_appendix_b_from_the_transcription() -> None:
    spec = load_sweep_preset("paper-fig9", scale="paper")
    by_rule = {p.config.rule.name: p.config for p in spec.points()}
    steps = paper.setting("timesteps")
    lr_b, lr_c = paper.setting("training_lr_b"), paper.setting("training_lr_c_ann")
    h_ann, h_snn = paper.setting("training_lr_h_ann"), paper.setting("training_lr_h_snn")
    b, c, h = by_rule["bptt"], by_rule["conversion"], by_rule["hybrid"]
    assert (b.sim.timesteps, b.train.epochs, b.train.lr, b.train.batch_size) == (
        steps["lr_b_T"], lr_b["epochs"], lr_b["learning_rate"], lr_b["batch"])  # fmt: skip
    assert c.sim.eval_timesteps == steps["lr_c_T"] == 400
    assert (c.rule.ann_optimizer, c.rule.ann_lr, c.rule.ann_epochs) == ("adam", 0.001, 200)
    assert (c.rule.ann_optimizer, c.rule.ann_lr) == (
        lr_c["optimizer"].lower(),
        lr_c["learning_rate"],
    )
    assert (h.rule.ann_optimizer, h.rule.ann_lr) == (
        h_ann["optimizer"].lower(),
        h_ann["learning_rate"],
    )
    assert (h.train.lr, h.train.epochs, h.sim.timesteps) == (h_snn["learning_rate"], 200, 100)
    assert {cfg.data.name for cfg in by_rule.values()} == {"cifar10"}  # Sec. 4.3.1


def test_defaults_are_the_papers_where_it_states_them() -> None:
    cfg = config_io.ExperimentConfig()
    weights = paper.setting("objective_weights")
    assert (cfg.train.poison_weight, cfg.train.clean_weight) == (weights["lambda"], weights["mu"])
    assert cfg.model.tau == paper.setting("lif_time_constant")["tau"]
    assert cfg.poison.rate == paper.setting("default_poisoning_rate")["value"]
    assert cfg.trigger.position == paper.setting("default_trigger_position")["image"]


def test_the_packaged_transcription_is_the_shared_master_copy() -> None:
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "paper" / "tables.toml"
    if not shared.is_file():
        pytest.skip("no shared/paper/tables.toml beside this checkout")
    packaged = Path(paper.__file__).with_name(paper.TRANSCRIPTION)
    assert packaged.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")


def test_a_claim_measured_under_two_spike_norm_scalings_has_a_row_for_each(
    tmp_path: Path,
) -> None:
    # C23 reads Spike-Norm 1/2's MR at PR 0.12 and 0.18: 100 scaled layer by layer, 91
    # scaled after calibration; a fig17 sweep without Spike-Norm pools with either
    mr = {"layerwise": 1.0, "after": 0.91}
    for scaling in mr:
        spec = load_sweep_preset(
            "paper-fig18", [f"rule.spike_scaling={scaling}", "poison.rate=[0.12, 0.18]"]
        )
        fake_sweep_dir(
            tmp_path / scaling,
            spec,
            lambda p: {
                "acc": 0.9,
                "asr": mr[p.config.rule.spike_scaling] if p.config.rule.norm == "spike" else 1.0,
                "ann_asr": 1.0,
                "mr": mr[p.config.rule.spike_scaling] if p.config.rule.norm == "spike" else 1.0,
            },
        )
    fake_sweep_dir(tmp_path / "fig17", load_sweep_preset("paper-fig17", ['rule.norm=["max"]']),
                   lambda p: {"acc": 0.9, "asr": 0.5, "ann_asr": 1.0, "mr": 0.5})  # fmt: skip
    out = tmp_path / "claims.md"
    dirs = [str(tmp_path / d) for d in ("layerwise", "after", "fig17")]
    assert main(["report", "--claims", *dirs, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    c23 = [line for line in lines if line.startswith("| C23 |")]
    assert len(c23) == 2
    assert "**holds**" in c23[0] and "Spike-Norm scaled layerwise" in c23[0]
    assert "**fails**" in c23[1] and "Spike-Norm scaled after" in c23[1]
    # C24 pools fig17's MaxNorm (MR 50) into each: it fails under both scalings
    c24 = [line for line in lines if line.startswith("| C24 |")]
    assert len(c24) == 2 and all("**fails**" in row and "fig18, fig17" in row for row in c24)


def test_a_claim_measured_under_both_eq10_weightings_has_a_row_for_each(tmp_path: Path) -> None:
    # T3-position: the corner moves ASR by 6 points per_sample, 30 per_set
    step = {"per_sample": 0.02, "per_set": 0.1}
    for weighting in step:
        spec = load_sweep_preset("paper-table3", [f"train.loss_weighting={weighting}"])
        corners = spec.grid["trigger.position"]

        def metrics(point, weighting=weighting, corners=corners):  # type: ignore[no-untyped-def]
            corner = corners.index(point.config.trigger.position)
            return {"acc": 0.9, "asr": 0.6 + step[weighting] * corner}

        fake_sweep_dir(tmp_path / weighting, spec, metrics)
    out = tmp_path / "claims.md"
    dirs = [str(tmp_path / w) for w in step]
    assert main(["report", "--claims", *dirs, "--out", str(out)]) == 0
    rows = [r for r in out.read_text().splitlines() if r.startswith("| T3-position |")]
    assert len(rows) == 2
    assert "**holds**" in rows[0] and "Eq. 10 per_sample" in rows[0]
    assert "**fails**" in rows[1] and "Eq. 10 per_set" in rows[1]


def test_a_sweep_written_before_spike_scaling_existed_reads_as_layerwise(
    tmp_path: Path,
) -> None:
    spec = load_sweep_preset("paper-fig18")
    fake_sweep_dir(tmp_path / "old", spec, lambda p: {"acc": 0.9, "asr": 1.0, "mr": 1.0})
    spec_file = tmp_path / "old" / "sweep.toml"
    text = spec_file.read_text()
    assert 'spike_scaling = "after"' in text
    spec_file.write_text(text.replace('spike_scaling = "after"\n', ""))
    assert {k["rule.spike_scaling"] for k in read_sweep(tmp_path / "old").known} == {"layerwise"}
    fake_sweep_dir(tmp_path / "new", spec, lambda p: {"acc": 0.9, "asr": 1.0, "mr": 1.0})
    assert {k["rule.spike_scaling"] for k in read_sweep(tmp_path / "new").known} == {"after"}


def test_fig10_claim_orders_the_rules_by_their_whole_run_and_skips_reused_twins(
    tmp_path: Path,
) -> None:
    spec = load_sweep_preset("paper-fig10")
    seconds = {"bptt": 30.0, "conversion": 10.0, "hybrid": 60.0}

    def metrics(point):  # type: ignore[no-untyped-def]
        rule, rate = point.config.rule.name, point.config.poison.rate
        out = {"acc": 0.9, "asr": 1.0, "seconds": {"total": seconds[rule]}}
        if rule == "conversion" and rate == 0.2:  # LR_C slower than LR_B here
            out["seconds"] = {"total": 40.0}
        if rule == "hybrid" and rate == 0.2:  # but it reused a cached twin: not timed
            out["seconds"] = {"total": 5.0, "backdoored": {"ann_loading": 0.1}}
        if rule == "hybrid" and rate == 0.1:  # its clean twin reused one: not timed either
            out["seconds"] = {"total": 5.0, "clean": {"ann_loading": 0.1}}
        return out

    fake_sweep_dir(tmp_path / "fig10", spec, metrics)
    out = tmp_path / "claims.md"
    assert main(["report", "--claims", str(tmp_path / "fig10"), "--out", str(out)]) == 0
    row = next(line for line in out.read_text().splitlines() if line.startswith("| F10-time |"))
    assert "| time s: PR 0.02: LR_B 30, LR_C 10, LR_H 60 (host: not recorded) |" in row
    # PRs 0.1 and 0.2 lack a timed LR_H, so PR 0.2's slow LR_C is not judged
    assert "**holds**" in row

    def on_two_hosts(point):  # type: ignore[no-untyped-def]
        host = "fast" if point.config.rule.name == "conversion" else "slow"
        return {**metrics(point), "hardware": host}

    fake_sweep_dir(tmp_path / "hosts", spec, on_two_hosts)
    assert main(["report", "--claims", str(tmp_path / "hosts"), "--out", str(out)]) == 0
    # times from two machines do not order the rules, so the claim is not judged on them
    assert "**not covered: the times were taken on different hosts: PR 0.02: fast; slow**" in next(
        line for line in out.read_text().splitlines() if line.startswith("| F10-time |")
    )

    seconds["conversion"] = 45.0  # LR_C slower than LR_B at every PR
    fake_sweep_dir(tmp_path / "slow", spec, metrics)
    assert main(["report", "--claims", str(tmp_path / "slow"), "--out", str(out)]) == 0
    assert "**fails**" in next(
        line for line in out.read_text().splitlines() if line.startswith("| F10-time |")
    )


def test_fig10_claim_leaves_out_a_resumed_point_whose_seconds_are_its_last_sitting() -> None:
    def point(rule: str, seconds: float, seed: int = 0, **more: str) -> tuple[dict, dict]:
        known = {"poison.rate": 0.1, "rule.name": rule, "seed": seed}
        return {"seed": str(seed), "seconds.total": str(seconds), **more}, known

    rows = [point("bptt", 30), point("conversion", 10), point("hybrid", 60)]
    resumed = point("bptt", 100, seed=1, resumed_after="backdoored: 4 epochs")
    outcome = lr_c_fastest_lr_h_slowest(Evidence([*rows, resumed]))
    assert outcome == ("time s: PR 0.1: LR_B 30, LR_C 10, LR_H 60 (host: not recorded)", True)
    counted = point("bptt", 100, seed=1)  # the same time, had it been the whole run's
    assert lr_c_fastest_lr_h_slowest(Evidence([*rows, counted]))[1] is False  # type: ignore[index]


PR_01_ON_A = "time s: PR 0.1: LR_B 30, LR_C 10, LR_H 60 (host: A)"


@pytest.mark.parametrize(
    ("at_pr_02", "outcome"),
    [
        # another host at a PR where no ordering is judged does not block the claim
        ({"bptt": "B"}, (PR_01_ON_A, True)),
        # at PR 0.2 the rules' times come from two hosts: that PR is named, not judged
        (
            {"bptt": "A", "conversion": "B", "hybrid": "A"},
            (f"{PR_01_ON_A}; not judged, taken on different hosts: PR 0.2: A; B", True),
        ),
        # each PR on one host (LR_C slowest at PR 0.2): both are judged, each names its host
        (
            {"bptt": "B", "conversion": "B", "hybrid": "B"},
            (
                "time s: PR 0.1: LR_B 30, LR_C 10, LR_H 60 (host: A); "
                "PR 0.2: LR_B 20, LR_C 40, LR_H 30 (host: B)",
                False,
            ),
        ),
    ],
)
def test_fig10_claim_compares_times_within_a_pr_on_one_host_only(
    at_pr_02: dict[str, str], outcome: tuple[str, bool]
) -> None:
    def point(rule: str, seconds: float, rate: float, host: str) -> tuple[dict, dict]:
        known = {"poison.rate": rate, "rule.name": rule, "seed": 0}
        return {"seed": "0", "seconds.total": str(seconds), "hardware": host}, known

    pr_01 = [
        point(rule, s, 0.1, "A") for rule, s in (("bptt", 30), ("conversion", 10), ("hybrid", 60))
    ]
    seconds_02 = {"bptt": 20, "conversion": 40, "hybrid": 30}
    pr_02 = [point(rule, seconds_02[rule], 0.2, host) for rule, host in at_pr_02.items()]
    assert lr_c_fastest_lr_h_slowest(Evidence([*pr_01, *pr_02])) == outcome
