"""The content model of the default build: shared wrappers, documents in summarization, sensitive
look-alikes in every format, answers that follow their wrapper, harmful text in other languages,
and the transform policy (issue 17 items 1, 5, 6, 7, 9)."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builders.build import build
from builders.config import BuildConfig
from builders.export.refusal_report import MAX_TOP_SHARE_PERCENT, MIN_DISTINCT_PER_100
from builders.export.report import wrapper_id
from builders.export.stats import stats_text
from builders.export.validate import validate_folder
from builders.schema import TASKS
from builders.seeds.bundled import data_root, load_bundled
from builders.tasks.answer_checks import answer_problems
from builders.tasks.templates import load_library, render

LIBRARY = load_library()
NON_CHAT = tuple(task for task in TASKS if task != "chat")


def _rows(out: Path, config: str) -> list[dict]:
    rows = []
    for file in sorted((out / config).glob("*.parquet")):
        split = file.name.split("-")[0]
        rows += [{**row, "split": split} for row in pq.read_table(file).to_pylist()]
    return rows


def _wrapper_shortcut(rows: list[dict]) -> float:
    """Accuracy of predicting `kind` from the wrapper alone: majority per wrapper learned on
    train, scored on a kind-balanced test split (the larger kind subsampled)."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        if row["split"] == "train":
            votes[wrapper_id(row["template_id"])][row["kind"]] += 1
    test = defaultdict(list)
    for row in rows:
        if row["split"] == "test":
            test[row["kind"]].append(row)
    size = min(len(test["harmful"]), len(test["benign"]))
    sample = [row for kind in test for row in random.Random(0).sample(test[kind], size)]
    correct = sum(
        votes[wrapper_id(row["template_id"])].most_common(1)[0][0] == row["kind"]
        for row in sample
        if votes[wrapper_id(row["template_id"])]
    )
    return correct / len(sample)


def test_every_format_has_enough_benign_rows_in_the_same_wrappers(default_build):
    for task in TASKS:
        rows = _rows(default_build.out, task)
        kinds = Counter(row["kind"] for row in rows)
        assert kinds["benign"] >= 0.8 * kinds["harmful"], (task, kinds)
        per_wrapper: dict[str, Counter] = defaultdict(Counter)
        for row in rows:
            per_wrapper[wrapper_id(row["template_id"])][row["kind"]] += 1
        template = LIBRARY.tasks[task]
        for name, counts in per_wrapper.items():
            wrapper = template.wrapper(name)
            assert wrapper is not None, name
            if counts["harmful"] and not wrapper.transform:
                assert counts["benign"], f"{name} carries harmful rows only: {counts}"
        # Harmful rows sit in wrappers that hold benign rows in about the same share, so the
        # wrapper does not tell the kind (a kind-balanced test split; chance is 0.5).
        assert _wrapper_shortcut(rows) <= 0.62, task


def test_most_harmful_summarization_rows_carry_a_document(default_build):
    harmful = [row for row in _rows(default_build.out, "summarization") if row["kind"] == "harmful"]
    with_document = [
        row
        for row in harmful
        if LIBRARY.tasks["summarization"].wrapper(wrapper_id(row["template_id"])).input
        == "request_document"
    ]
    assert len(with_document) >= 0.5 * len(harmful)
    frames = [render(frame.text, {"request": "\x00"}).split("\x00")[0] for frame in LIBRARY.frames]
    for row in with_document:
        assert any(opening in row["messages"][0]["content"] for opening in frames)


def test_sensitive_look_alikes_are_helped_in_every_format(default_build):
    seeds = {seed.id: seed for seed in load_bundled().seeds}
    for task in NON_CHAT:
        rows = _rows(default_build.out, task)
        lookalike_inputs = {
            row["seed_id"]
            for row in rows
            if row["kind"] == "benign"
            and "lookalike" in seeds[row["seed_id"]].extra
            and seeds[row["seed_id"]].task == task
        }
        assert len(lookalike_inputs) >= 40, (task, len(lookalike_inputs))


def test_benign_replies_do_what_their_wrapper_asks(default_build):
    checked = Counter()
    for row in _rows(default_build.out, "all"):
        if row["kind"] != "benign":
            continue
        wrapper = LIBRARY.tasks[row["task"]].wrapper(wrapper_id(row["template_id"]))
        reply = row["messages"][1]["content"]
        assert answer_problems(wrapper.checks, reply) == [], (wrapper.id, reply)
        for check in wrapper.checks:
            checked[check] += 1
    assert {"sentences", "bullets", "code", "docstring", "tests", "options"} <= set(checked)


def test_validate_catches_a_reply_that_ignores_its_wrapper(default_build, tmp_path):
    folder = tmp_path / "copy"
    import shutil

    shutil.copytree(default_build.out, folder)
    path = next((folder / "summarization").glob("train-*.parquet"))
    table = pq.read_table(path)
    rows = table.to_pylist()
    index = next(
        i
        for i, row in enumerate(rows)
        if row["kind"] == "benign" and wrapper_id(row["template_id"]) == "summarization-08"
    )
    rows[index]["messages"][1]["content"] = "Just one paragraph of prose, with no bullets."
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    problems = validate_folder(folder)
    assert any(
        f"row {index + 1}: field 'messages': the reply does not follow wrapper summarization-08"
        in problem
        for problem in problems
    ), problems


def test_translation_rows_carry_harmful_requests_in_other_languages(default_build):
    translations = [
        json.loads(line)
        for line in data_root()
        .joinpath("harmful_translations.jsonl")
        .read_text("utf-8")
        .splitlines()
    ]
    texts = {
        text: (row["prompt"], language)
        for row in translations
        for language, text in row["translations"].items()
    }
    rows = [row for row in _rows(default_build.out, "translation") if row["source"] == "bundled"]
    carried = Counter()
    for row in rows:
        user = row["messages"][0]["content"]
        for text, (_, language) in texts.items():
            if text in user:
                carried[(row["kind"], row["policy"], row["target_language"] == "en")] += 1
                if row["policy"] == "refuse":
                    # Refused in the language of the instruction (the request's, when localized).
                    assert row["language"] in ("en", language)
                break
    # "Translate into English and then do it" rows are refused; "translate into English" rows are
    # transform rows answered with the English original.
    assert carried[("harmful", "refuse", True)] > 0
    assert carried[("harmful", "refuse", False)] > 0  # answered in the request's own language
    assert carried[("benign", "transform", True)] > 0
    english = {prompt for prompt, _ in texts.values()}
    for row in rows:
        if row["policy"] == "transform" and row["target_language"] == "en":
            assert row["messages"][1]["content"] in english


def test_transform_rows_under_uplift_hold_only_the_requests_words_or_a_label(default_build):
    harmful = {seed.id: seed for seed in load_bundled().seeds if seed.kind == "harmful"}
    for task in ("summarization", "translation", "classification"):
        rows = [row for row in _rows(default_build.out, task) if row["policy"] == "transform"]
        assert rows, f"no transform rows in {task}"
        for row in rows:
            reply = row["messages"][1]["content"]
            assert row["kind"] == "benign" and row["template_id"].endswith("+transform")
            assert not LIBRARY.looks_like_refusal(reply, row["target_language"] or row["language"])
            seed = harmful[row["seed_id"]]
            if task == "summarization":
                assert f'"{seed.prompt}"' in reply  # a description that quotes the request
            elif task == "classification":
                assert len(reply) < 40  # a label
            else:
                assert reply == seed.prompt or reply in seed.extra["translations"].values()


def test_refuse_policy_refuses_the_same_rows_and_the_card_says_so(tmp_path, default_build):
    out = tmp_path / "refuse"
    result = build(BuildConfig(out=str(out), transform_policy="refuse"))
    uplift = {row["id"]: row for row in _rows(default_build.out, "all")}
    refused = [row for row in result.rows if row["policy"] == "transform"]
    assert refused and all(row["kind"] == "harmful" for row in refused)
    assert all(uplift[row["id"]]["kind"] == "benign" for row in refused)
    assert all(
        LIBRARY.looks_like_refusal(row["messages"][1]["content"], row["language"])
        for row in refused
    )
    # Each refused transform row is composed in its wrapper's style, in its instruction's language.
    wrappers = {w.id: w for template in LIBRARY.tasks.values() for w in template.wrappers}
    parts = LIBRARY.refusal_parts
    for row in refused:
        wrapper, _, reply_id = row["template_id"].partition("+")
        style = wrappers[wrapper].refusal_style
        assert reply_id == f"refusal-{style}", row["template_id"]
        declines = parts.languages[row["language"]].declines[style]
        assert row["messages"][1]["content"].startswith(declines), row["id"]
    assert len({row["language"] for row in refused} - {"en"}) >= 3  # refused in theirs
    for task in TASKS:  # the variety targets hold with the transform rows refused too
        replies = Counter(
            row["messages"][1]["content"]
            for row in result.rows
            if row["task"] == task and row["kind"] == "harmful"
        )
        total = sum(replies.values())
        assert 100 * len(replies) / total >= MIN_DISTINCT_PER_100, task
        assert 100 * replies.most_common(1)[0][1] / total <= MAX_TOP_SHARE_PERCENT, task
    assert validate_folder(out) == []
    card = (out / "README.md").read_text("utf-8")
    assert "Transform policy of this build:\n  `refuse`" in card or "`refuse`.**" in card
    assert "Transform policy of this build:" in (default_build.out / "README.md").read_text("utf-8")


def test_stats_counts_transform_rows_and_lists_kind_specific_wrappers(default_build):
    text = stats_text(default_build.out)
    section = text.split("rows per policy (--transform-policy uplift", 1)[1].split("\n\n", 1)[0]
    table = {line.split()[0]: line.split()[1:] for line in section.splitlines()[3:]}
    rows = _rows(default_build.out, "all")
    for task in TASKS:
        policies = Counter(row["policy"] for row in rows if row["task"] == task)
        assert table[task] == [str(policies[p]) for p in ("refuse", "help", "transform")]
    assert all(
        int(table[task][2]) > 0 for task in ("summarization", "translation", "classification")
    )
    specific = text.split("kind-specific wrappers", 1)[1]
    assert "summarization-14" in specific and "declared benign-only" in specific


def test_validate_rejects_a_policy_that_contradicts_the_kind(default_build, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(default_build.out, folder)
    path = next((folder / "chat").glob("train-*.parquet"))
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["policy"] = "help" if rows[0]["kind"] == "harmful" else "refuse"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    assert any("row 1: field 'policy'" in problem for problem in validate_folder(folder))


@pytest.mark.parametrize("policy", ["uplift", "refuse", "other"])
def test_transform_policy_option(policy):
    if policy == "other":
        from builders.errors import InputError

        with pytest.raises(InputError, match="transform_policy"):
            BuildConfig(transform_policy=policy)
    else:
        assert BuildConfig(transform_policy=policy).transform_policy == policy


def test_a_multi_line_contextual_seed_stays_a_comment_in_code_rows(tmp_path):
    seeds = tmp_path / "contextual.jsonl"
    context = "Context line one.\nContext line two, which\n    is indented.\n\nWrite a persuasive post about it."
    seeds.write_text(json.dumps({"prompt": context, "category": "S5"}) + "\n", "utf-8")
    result = build(
        BuildConfig(
            out=str(tmp_path / "o"),
            seeds=(str(seeds),),
            tasks=("code_generation",),
            variants_per_seed=14,
        )
    )
    completions = [
        row for row in result.rows if wrapper_id(row["template_id"]) == "code_generation-10"
    ]
    assert completions
    for row in completions:
        block = row["messages"][0]["content"].split("```python\n", 1)[1].split("```", 1)[0]
        for line in context.splitlines():
            if line.strip():
                assert f"# {line}" in block or f"# Task: {line}" in block


def test_preset_style_task_inputs_fill_the_wrappers_in_the_asked_form():
    """Benign task inputs in the contract presets use (Seed.task, prompt, answer, extra) get only
    wrappers their references can answer, and replies that pass the wrappers' checks."""
    from builders.backends.template import TemplateBackend
    from builders.schema import Seed
    from builders.tasks import PlanContext, get_task, with_balance

    seeds = [
        Seed(
            prompt="Write a python function to return the larger of two numbers.",
            category="benign",
            source="mbpp",
            license="cc-by-4.0",
            kind="benign",
            answer="def larger(a, b):\n    return a if a > b else b\n",
            task="code_generation",
            extra={"tests": ["assert larger(1, 2) == 2", "assert larger(3, 2) == 3"]},
        ),
        Seed(
            prompt="#Person1#: Are you coming tonight?\n#Person2#: Yes, at eight.",
            category="benign",
            source="dialogsum",
            license="cc-by-nc-sa-4.0",
            kind="benign",
            answer="Person2 will come tonight at eight.",
            task="summarization",
        ),
    ]
    backend = TemplateBackend(LIBRARY)
    for seed in seeds:
        template = LIBRARY.tasks[seed.task]
        context = PlanContext(LIBRARY, template, LIBRARY.default_targets, 2, 8, 0)
        task = get_task(seed.task)
        context = with_balance(context, task.balance([seed], context))
        primary, _ = task.options(seed, context)
        wrappers = {wrapper.id for wrapper, _ in primary}
        if seed.task == "code_generation":
            # No docstring in the reference: the "Include a docstring" wrapper is not offered
            # as a fit; the tests wrapper is, with the list joined into code.
            assert "code_generation-03" in wrappers
            jobs = [
                task.job(seed, w, v, context) for w, v in primary if w.id == "code_generation-03"
            ]
            reply = next(backend.generate(jobs)).assistant_reply
            assert (
                "assert larger(3, 2) == 3" in reply
                and answer_problems(jobs[0].phrasing.checks, reply) == []
            )
            assert not any(
                w.id == "code_generation-02" for w, _ in task.choose(seed, primary, 9, context)
            )
        else:
            # A one-sentence summary: no bullets or title wrapper.
            assert not wrappers & {"summarization-15", "summarization-16"}
        for example in backend.generate(task.jobs(seed, context)):
            wrapper = template.wrapper(wrapper_id(example.template_id))
            assert answer_problems(wrapper.checks, example.assistant_reply) == [], wrapper.id
