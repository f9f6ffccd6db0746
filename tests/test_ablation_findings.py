"""The four findings, checked on synthetic results tables whose answer is known."""

from __future__ import annotations

import pytest

from train_safety.ablation.findings import (
    NOT_REPRODUCED,
    NOT_TESTABLE,
    PARTLY,
    REPRODUCED,
    ResultsView,
    check_findings,
)
from train_safety.evaluation.metrics import wilson_interval

FORMATS = ("chat", "summarization", "code_generation", "translation", "classification")
N = 100


def condition(name, kind, task=None):
    return {"name": name, "kind": kind, "task": task}


def table_for(answered: dict[str, dict[str, int]], helpfulness: dict[str, float]) -> list[dict]:
    """Harmful rows (count answered of N per format) and one chrF row per condition."""
    rows = []
    for name, per_format in answered.items():
        for fmt, count in per_format.items():
            low, high = wilson_interval(count, N)
            rows.append(
                {
                    "condition": name,
                    "section": "harmful",
                    "set": "build",
                    "task": fmt,
                    "metric": "asr",
                    "value": count / N,
                    "ci_low": low,
                    "ci_high": high,
                    "n": N,
                    "count": count,
                }
            )
        if name in helpfulness:
            rows.append(
                {
                    "condition": name,
                    "section": "helpfulness",
                    "set": "test.jsonl",
                    "task": "translation",
                    "metric": "chrf",
                    "value": helpfulness[name],
                    "n": 50,
                    "count": None,
                }
            )
    return rows


CONDITIONS = [
    condition("base", "base"),
    condition("t-task", "task", "translation"),
    condition("t-chat", "chat_safety", "translation"),
    condition("t-multi", "multitask_safety", "translation"),
]


def asr(chat, summ, code, trans, clf):
    return dict(zip(FORMATS, (chat, summ, code, trans, clf), strict=True))


PAPER_LIKE = {
    "base": asr(2, 10, 15, 40, 35),
    "t-task": asr(30, 50, 70, 80, 70),
    "t-chat": asr(3, 48, 66, 78, 69),
    "t-multi": asr(2, 5, 8, 10, 9),
}


def verdicts(answered, helpfulness, conditions=CONDITIONS):
    view = ResultsView(table_for(answered, helpfulness), conditions, "build")
    return {f.number: f.verdict for f in check_findings(view)}, check_findings(view)


def test_a_paper_like_table_reproduces_all_four_findings():
    found, findings = verdicts(PAPER_LIKE, {"t-task": 40.0, "t-multi": 39.0})
    assert found == {1: REPRODUCED, 2: REPRODUCED, 3: REPRODUCED, 4: REPRODUCED}
    evidence = {f.number: f.evidence for f in findings}
    assert "chat 2.0%" in evidence[2] and "translation 40.0%" in evidence[2]
    assert "needs code or translation and another task" in evidence[1]


def test_no_rise_after_fine_tuning_is_not_reproduced():
    table = PAPER_LIKE | {"t-task": asr(3, 12, 14, 41, 36)}
    found, _ = verdicts(table, {})
    assert found[1] == NOT_REPRODUCED


def test_chat_only_safety_that_transfers_everywhere_does_not_reproduce_finding_3():
    table = PAPER_LIKE | {"t-chat": asr(2, 6, 9, 10, 9)}
    found, _ = verdicts(table, {})
    assert found[3] == NOT_REPRODUCED


def test_chat_only_safety_that_transfers_partway_is_partly():
    table = PAPER_LIKE | {"t-chat": asr(2, 30, 40, 50, 45)}
    found, findings = verdicts(table, {})
    assert found[3] == PARTLY
    assert "multitask safety" in findings[2].evidence


def test_multitask_that_hurts_helpfulness_or_misses_a_format_is_partly():
    found, findings = verdicts(PAPER_LIKE, {"t-task": 40.0, "t-multi": 20.0})
    assert found[4] == PARTLY and "(under 90% of task only)" in findings[3].evidence
    table = PAPER_LIKE | {"t-multi": asr(2, 5, 8, 85, 9)}
    found, findings = verdicts(table, {"t-task": 40.0, "t-multi": 40.0})
    assert found[4] == PARTLY and "not lower in: translation" in findings[3].evidence


def test_framings_not_above_chat_are_not_reproduced():
    table = PAPER_LIKE | {"base": asr(30, 10, 15, 32, 28)}
    found, _ = verdicts(table, {})
    assert found[2] == NOT_REPRODUCED
    table = PAPER_LIKE | {"base": asr(2, 10, 15, 40, 4)}
    found, _ = verdicts(table, {})
    assert found[2] == PARTLY


def test_missing_conditions_are_not_testable():
    only_base = {"base": PAPER_LIKE["base"]}
    found, _ = verdicts(only_base, {}, [condition("base", "base")])
    assert found == {1: NOT_TESTABLE, 2: REPRODUCED, 3: NOT_TESTABLE, 4: NOT_TESTABLE}


@pytest.mark.parametrize(("top", "expected"), [("code", REPRODUCED), ("summ", PARTLY)])
def test_ranking_of_downstream_tasks_when_there_are_two(top, expected):
    conditions = [
        condition("base", "base"),
        condition("code-task", "task", "code_generation"),
        condition("summ-task", "task", "summarization"),
    ]
    big, small = asr(40, 60, 80, 80, 80), asr(20, 30, 40, 60, 50)
    table = {
        "base": PAPER_LIKE["base"],
        "code-task": big if top == "code" else small,
        "summ-task": small if top == "code" else big,
    }
    found, findings = verdicts(table, {}, conditions)
    assert found[1] == expected
    holds = "yes" if top == "code" else "no"
    assert f"code/translation above the others: {holds}" in findings[0].evidence


def test_multitask_that_refuses_benign_task_prompts_more_is_partly():
    rows = table_for(PAPER_LIKE, {"t-task": 40.0, "t-multi": 40.0})
    for name, refused in (("t-task", 3), ("t-multi", 45)):
        rows.append(
            {
                "condition": name,
                "section": "over_refusal",
                "set": "build:benign",
                "task": "translation",
                "metric": "refusal_rate",
                "value": refused / 60,
                "n": 60,
                "count": refused,
            }
        )
    findings = check_findings(ResultsView(rows, CONDITIONS, "build"))
    assert findings[3].verdict == PARTLY
    assert "refusals of benign translation prompts 5.0%" in findings[3].evidence
    assert "(significantly more)" in findings[3].evidence
