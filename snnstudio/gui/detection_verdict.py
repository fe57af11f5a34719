"""The Detection tab's verdict in words a non-expert can act on.

Which reference-free tests flagged which class at which threshold ("TMPBD p = 0.065 (not <
0.05) · MM-BD p = 0.027 (< 0.05): 1 of 2 tests flag class 0"), what each other number means
(a short gloss beside it, a longer one in `TERMS` for tooltips), and the rows of the scores
table. Pure functions of the core's detection results: no widgets here.
"""

from __future__ import annotations

import html
from typing import Any

from snnstudio.core.defense.settings import TRAINING_SCORERS

REFERENCE_FREE_TESTS = (("tmpbd", "TMPBD"), ("max-margin", "MM-BD"))
GREY, RED, GREEN = "#555", "#b00020", "#1b7f3b"

# What each number of the verdict means, in words (the verdict's and the table's tooltips).
TERMS = {
    "p": "TMPBD and MM-BD search, for every class, the input that pushes the model hardest "
    "towards it. A backdoored class stands out: its largest margin is an outlier among the "
    "classes. p is the chance of an outlier that large in a clean model; a test flags the "
    "class when p is below its threshold (alpha, 0.05 by default).",
    "auroc": "test-input AUROC: how well the chosen layer's activity tells triggered test "
    "inputs from clean ones. 0.5 = no better than a coin, 1 = every triggered input stands "
    "out.",
    "separation": "separation vs reference: how much more strongly the suspect model's layer "
    "reacts to the trigger than the trusted reference model's (the standardised shift the "
    "trigger causes, suspect minus reference). Near 0 when both are clean; large when the "
    "suspect has learned the trigger.",
    "precision": "spectral signatures and activation clustering scan the training set for "
    "poisoned samples. precision = the share of the samples a scan flagged that really are "
    "poisoned; recall = the share of the poisoned samples it found. n/a: it flagged none.",
}
TOOLTIP = "\n\n".join(TERMS.values())
# The same, short, beside each number of the verdict.
GLOSS = {
    "auroc": "how well triggered inputs stand out: 0.5 chance, 1 all",
    "separation": "how much more the suspect reacts to the trigger than the clean model; "
    "about 0 = alike",
    "precision": "precision: share of flagged samples truly poisoned; recall: share of the "
    "poisoned samples found",
}


def _num(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _gloss(text: str) -> str:
    return f"<span style='color:{GREY}'>({text})</span>"


def reference_free_line(verdicts: dict[str, Any]) -> tuple[str, str]:
    """(headline, tests line) of the reference-free tests on the suspect model, or ("", "")
    before they have run."""
    results = [(title, verdicts[test]["suspect"]) for test, title in REFERENCE_FREE_TESTS
               if "suspect" in verdicts.get(test, {})]  # fmt: skip
    if not results:
        return "", ""
    tests = " · ".join(
        f"{title} p = {_num(v['p_value'], 2)} ({'' if v['flagged'] else 'not '}< "
        f"{v.get('alpha', 0.05):g})"
        for title, v in results
    )
    flagged = [(title, v["suspect_class"]) for title, v in results if v["flagged"]]
    classes = sorted({c for _, c in flagged})
    count = f"{len(flagged)} of {len(results)} test{'s' if len(results) > 1 else ''}"
    if not flagged:
        return (f"<span style='color:{GREEN}'><b>No backdoor flagged</b></span>",
                f"{tests}: {count} flag a class")  # fmt: skip
    if len(classes) == 1:
        which = f"flag class {classes[0]}"
    else:
        which = "flag a class: " + ", ".join(f"{c} ({title})" for title, c in flagged)
    suspects = " or ".join(str(c) for c in classes)
    head = f"<span style='color:{RED}'><b>Backdoor suspected: class {suspects}</b></span>"
    return head, f"{tests}: {count} {which}"


def number_lines(sections: dict[str, Any]) -> list[str]:
    """The other detection numbers, each with a short gloss of what it means."""
    parts: list[str] = []
    sample = sections.get("sample-level")
    if sample:
        parts.append(
            f"test-input AUROC {sample['auroc']:.3f} on {sample['layer_label']} "
            + _gloss(GLOSS["auroc"])
        )
    comparison = sections.get("model-comparison")
    if comparison:
        last = comparison["layers"][-1]
        sep = last["separation"]
        parts.append(
            f"separation vs reference on {last.get('label', last['layer'])}: spikes "
            f"{sep['spikes']:.2f}, voltage {sep['voltage']:.2f} " + _gloss(GLOSS["separation"])
        )
    training = sections.get("training-set")
    if training:
        found = ", ".join(
            f"{m} precision {_num(training[m]['precision'], 2)} recall "
            f"{_num(training[m]['recall'], 2)}"
            for m in TRAINING_SCORERS
        )
        parts.append(f"poisoned training samples found: {found} " + _gloss(GLOSS["precision"]))
    return parts


NO_VERDICT = {
    "": "running the detection tests…",
    "completed": "Detection finished: no verdict on the model (the reference-free tests were off)",
    "cancelled": "Detection stopped before the reference-free tests: no verdict",
    "failed": "Detection failed: no verdict",
}


def verdict_html(sections: dict[str, Any], target: int | None = None, ended: str = "") -> str:
    """The verdict of the detection results received so far, as rich text: a headline, the
    reference-free tests with their thresholds, and the other numbers in words. `ended`:
    how the detection ended ('completed', 'cancelled', 'failed'; '' while it runs), for the
    headline when there is no reference-free verdict."""
    head, tests = reference_free_line(sections.get("reference-free", {}))
    if not head:
        head = f"<span style='color:{GREY}'>{NO_VERDICT[ended]}</span>"
    said = f"the checkpoint's config says target {target}" if target is not None else ""
    lines = [f"<span style='font-size:15pt'>{head}</span>"]
    if tests:
        lines.append(html.escape(f"{tests}; {said}" if said else tests, quote=False))
    numbers = number_lines(sections) + ([said] if said and not tests else [])
    if numbers:
        lines.append(" &nbsp;·&nbsp; ".join(numbers))
    return "<br>".join(lines)


def score_rows(section: str, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The numbers of one detection result worth a row of the table."""
    if section == "sample-level":
        rows = [(f"AUROC {layer}, {kind}", f"{auroc:.3f}")
                for layer, by_kind in summary["auroc_by_layer_feature"].items()
                for kind, auroc in by_kind.items()]  # fmt: skip
        return rows
    if section == "training-set":
        return [
            (f"training set, {m}: {key}", _num(summary[m][key]))
            for m in TRAINING_SCORERS
            for key in ("precision", "recall", "auroc", "flagged", "poisoned")
        ] + [(f"training set, {m}: flagged classes", str(summary[m]["flagged_classes"]))
             for m in TRAINING_SCORERS]  # fmt: skip
    if section == "model-comparison":
        return [(f"separation, {c.get('label', c['layer'])} ({kind})", f"{value:.3f}")
                for c in summary["layers"] for kind, value in c["separation"].items()]  # fmt: skip
    if section == "reference-free":
        return [(f"{test}, {role}: {key}", _num(v[key]) if key == "p_value" else str(v[key]))
                for test, roles in summary.items() for role, v in roles.items()
                for key in ("flagged", "suspect_class", "p_value")]  # fmt: skip
    return []


def row_tooltip(section: str) -> str:
    """What the numbers of a section's table rows mean."""
    key = {"sample-level": "auroc", "model-comparison": "separation",
           "training-set": "precision", "reference-free": "p"}.get(section)  # fmt: skip
    return TERMS[key] if key else ""
