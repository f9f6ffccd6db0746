"""Benign programming tasks: their instructions open in several forms, and a one-line task is a
chat request answered with its code."""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq

from builders.seeds.bundled import load_bundled
from builders.seeds.code_instructions import code_instruction, code_task_forms
from builders.tasks.templates import load_library


def test_bundled_code_tasks_do_not_all_open_alike():
    tasks = [
        seed.prompt
        for seed in load_bundled().seeds
        if seed.kind == "benign" and seed.task == "code_generation"
    ]
    openings = Counter(" ".join(prompt.split()[:2]) for prompt in tasks)
    assert len(tasks) > 80
    assert openings.most_common(1)[0][1] <= 0.3 * len(tasks), openings
    assert sum(prompt.endswith("?") for prompt in tasks) >= 0.25 * len(tasks)


def test_a_code_instruction_takes_one_of_the_forms_by_its_hash():
    what = "Python function that masks an email address"
    made = code_instruction(what)
    assert made == code_instruction(what)
    assert made in {form.format(what=what) for form in code_task_forms()}
    instructions = {code_instruction(f"Python function number {n}") for n in range(60)}
    assert {text.split()[0] for text in instructions} >= {"Write", "How", "Give", "Help", "Can"}


def test_one_line_code_tasks_are_chat_requests_answered_with_fenced_code(default_build):
    chat = [
        row
        for file in sorted((default_build.out / "chat").glob("*.parquet"))
        for row in pq.read_table(file).to_pylist()
    ]
    wrappers = load_library().tasks["chat"]
    code_rows = [
        row
        for row in chat
        if row["kind"] == "benign" and row["messages"][-1]["content"].startswith("```")
    ]
    assert len(code_rows) >= 40
    tasks = {
        seed.id: seed
        for seed in load_bundled().seeds
        if seed.kind == "benign" and seed.task == "code_generation"
    }
    for row in code_rows:
        seed = tasks[row["seed_id"]]
        user, reply = row["messages"][0]["content"], row["messages"][-1]["content"]
        assert seed.prompt in user
        assert wrappers.wrapper(row["template_id"].split("+")[0]) is not None
        assert reply.rstrip().endswith("```") and seed.answer.strip() in reply
