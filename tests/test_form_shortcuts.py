"""The form-shortcut report: kind predicted from form alone, learned on train, scored on test."""

from __future__ import annotations

import json
import random

import pytest

from builders.export.shortcuts import (
    MIN_TEST_ROWS,
    NAIVE_BAYES,
    FormRow,
    FormSample,
    balanced_interval,
    over_target,
    shortcut_report,
)
from builders.multitask import main


def rows(
    count: int,
    kind: str,
    split: str,
    template: str,
    prompt: str = "Summarize this text for me please",
    language: str = "en",
) -> list[FormRow]:
    return [
        FormRow("summarization", kind, split, template, prompt, language, None)
        for _ in range(count)
    ]


def config_report(data: list[FormRow]) -> dict:
    return shortcut_report(data, ["summarization"])["configs"]["summarization"]


def test_disjoint_templates_are_a_perfect_shortcut():
    data = (
        rows(100, "harmful", "train", "s-h01+refusal")
        + rows(100, "benign", "train", "s-b01+reference")
        + rows(40, "harmful", "test", "s-h01+refusal")
        + rows(30, "benign", "test", "s-b01+reference")
    )
    report = config_report(data)
    template = report["features"]["template"]
    assert template["accuracy"] == 100.0 and template["points"] == 50.0
    assert template["low"] > 90 and template["high"] == 100.0
    assert report["status"] == "over" and report["worst_points"] == 50.0
    # every other feature is identical across kinds: no preference, half a point each row
    assert report["features"]["opening"]["accuracy"] == 50.0
    assert report["features"][NAIVE_BAYES]["accuracy"] == 100.0


def test_shared_templates_score_the_baseline_whatever_the_mix():
    data = []
    for split, harmful, benign in (("train", 300, 100), ("test", 90, 30)):
        for index in range(harmful + benign):
            kind = "harmful" if index < harmful else "benign"
            data += rows(1, kind, split, f"s-{index % 5:02d}")
    report = config_report(data)
    for name in ("template", "length", "opening", "closing", "lines", "structure", "language"):
        assert report["features"][name]["accuracy"] == pytest.approx(50.0, abs=6), name
    assert report["status"] == "ok"


def test_the_reply_suffix_of_template_id_is_not_form():
    data = (
        rows(50, "harmful", "train", "s-01+seed-refusal")
        + rows(50, "benign", "train", "s-01+reference")
        + rows(25, "harmful", "test", "s-01+seed-refusal")
        + rows(25, "benign", "test", "s-01+reference")
    )
    assert config_report(data)["features"]["template"]["accuracy"] == 50.0


def test_templates_unseen_in_train_earn_half_a_point():
    data = (
        rows(50, "harmful", "train", "s-h01")
        + rows(50, "benign", "train", "s-b01")
        + rows(25, "harmful", "test", "s-h02")  # held-out phrasings
        + rows(25, "benign", "test", "s-b01")
    )
    assert config_report(data)["features"]["template"]["accuracy"] == 75.0


def test_length_and_document_shortcuts_are_caught():
    rng = random.Random(0)
    data = []
    for split, count in (("train", 200), ("test", 60)):
        for _ in range(count):
            short = "Summarize how to " + " ".join("x" * rng.randint(2, 6) for _ in range(8))
            data.append(
                FormRow(
                    "summarization", "harmful", split, f"t{rng.randint(0, 9)}", short, "en", None
                )
            )
            document = "Summarize:\n\n" + "\n".join(
                " ".join("y" * 5 for _ in range(12)) for _ in range(6)
            )
            data.append(
                FormRow(
                    "summarization", "benign", split, f"t{rng.randint(0, 9)}", document, "en", None
                )
            )
    report = config_report(data)
    assert report["features"]["length"]["accuracy"] == 100.0
    assert report["features"]["lines"]["accuracy"] == 100.0
    assert report["features"]["structure"]["accuracy"] == 100.0
    assert report["features"]["template"]["accuracy"] < 65


def test_small_test_splits_get_no_verdict_and_a_wide_interval():
    data = (
        rows(50, "harmful", "train", "s-h01")
        + rows(50, "benign", "train", "s-b01")
        + rows(5, "harmful", "test", "s-h01")
        + rows(MIN_TEST_ROWS - 1, "benign", "test", "s-b01")
    )
    report = config_report(data)
    assert report["status"] == "too_few" and not over_target(
        {"target_points": 10, "configs": {"s": report}}
    )
    template = report["features"]["template"]
    assert template["accuracy"] == 100.0 and template["low"] < 85


def test_one_kind_only_is_reported_not_scored():
    data = rows(50, "harmful", "train", "a") + rows(20, "harmful", "test", "a")
    report = shortcut_report(data, ["summarization", "translation"])
    assert report["configs"]["summarization"]["status"] == "one_kind"
    assert report["configs"]["translation"]["n_test"] == {"harmful": 0, "benign": 0}


def test_interval_shrinks_with_n_and_holds_the_estimate():
    narrow = balanced_interval({"harmful": 450.0, "benign": 400.0}, {"harmful": 500, "benign": 500})
    wide = balanced_interval({"harmful": 45.0, "benign": 40.0}, {"harmful": 50, "benign": 50})
    assert narrow[0] == wide[0] == pytest.approx(0.85)
    assert narrow[1] <= narrow[0] <= narrow[2] and wide[1] <= wide[0] <= wide[2]
    assert (wide[2] - wide[1]) > 2.5 * (narrow[2] - narrow[1])


# --- in a build --------------------------------------------------------------------------------


def test_the_default_build_reports_every_task_config(default_build):
    report = default_build.manifest["form_shortcuts"]
    assert set(report["configs"]) == {
        "chat",
        "summarization",
        "code_generation",
        "translation",
        "classification",
    }
    for config in report["configs"].values():
        assert config["status"] in {"ok", "over", "too_few"}
        assert set(config["features"]) >= {"template", "length", NAIVE_BAYES}
    card = (default_build.out / "README.md").read_text(encoding="utf-8")
    assert "## Form shortcuts" in card and "| `translation` |" in card
    manifest = json.loads((default_build.out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["form_shortcuts"] == report


def test_stats_and_validate_report_the_shortcuts(default_build, capsys):
    assert main(["stats", str(default_build.out)]) == 0
    out = capsys.readouterr().out
    assert "form shortcuts: kind predicted from form alone" in out
    assert "benign rows per harmful row (--benign-ratio 1)" in out
    report = default_build.manifest["form_shortcuts"]
    over = [task for task, config in report["configs"].items() if config["status"] == "over"]
    assert main(["validate", str(default_build.out)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "is valid" in out
    assert sum(line.startswith("warning:") for line in out.splitlines()) == len(over)
    code = main(["validate", str(default_build.out), "--fail-on-shortcut"])
    out, err = capsys.readouterr()
    assert code == (2 if over else 0)
    for task in over:
        assert f"form shortcut: {task}: kind is predicted from form" in err


def test_large_splits_are_scored_on_a_sample_independent_of_row_order(monkeypatch):
    monkeypatch.setitem(FormSample.CAPS, "train", 30)
    monkeypatch.setitem(FormSample.CAPS, "test", 10)
    rng = random.Random(3)
    data = [
        FormRow(
            "chat",
            kind,
            split,
            f"t{rng.randint(0, 3)}-{kind[0]}",
            "Hi there",
            "en",
            None,
            f"{i:04x}",
        )
        for i, (kind, split) in enumerate(
            [(k, s) for s in ("train", "test") for k in ("harmful", "benign") for _ in range(200)]
        )
    ]
    report = shortcut_report(data, ["chat"])["configs"]["chat"]
    shuffled = shortcut_report(rng.sample(data, len(data)), ["chat"])["configs"]["chat"]
    assert report == shuffled
    assert report["n_test"] == {"harmful": 200, "benign": 200}
    assert report["n_scored"] == {"harmful": 10, "benign": 10}
    assert report["features"]["template"]["accuracy"] == 100.0
