"""The one stage contract: ``from_build(context)`` → stage or None; ``stage(rows, audit) -> rows``."""

from __future__ import annotations

import dataclasses
import inspect

from builders import pipeline
from builders.config import BuildConfig
from builders.stage import AuditLog


def test_every_listed_stage_is_made_from_the_build_and_is_a_generator(tmp_path):
    context, _ = pipeline.build_context(BuildConfig(out=str(tmp_path / "out")))
    made = pipeline.make_stages((*pipeline.PLAN_STAGES, *pipeline.ROW_STAGES), context)
    names = [stage.name for stage in made]
    assert len(names) == len(set(names)), names
    for stage in made:
        assert inspect.isgeneratorfunction(type(stage).__call__), stage.name
    # Off by default: decontamination, semantic dedup, the previous-release check.
    assert {"seed_decontaminate", "decontaminate", "seed_semantic_dedupe"}.isdisjoint(names)
    assert "dedupe_against_previous" not in names


def test_an_option_turns_its_stages_off(tmp_path):
    config = BuildConfig(out=str(tmp_path / "out"), near_dedupe=False)
    context, _ = pipeline.build_context(config)
    names = [
        s.name for s in pipeline.make_stages(pipeline.PLAN_STAGES + pipeline.ROW_STAGES, context)
    ]
    assert "seed_near_dedupe" not in names and "near_dedupe" not in names


def test_a_new_stage_is_one_class_and_one_line(tmp_path, monkeypatch):
    class DropChat:
        name = "drop_chat"

        @classmethod
        def from_build(cls, context):
            return cls()

        def __call__(self, rows, audit: AuditLog):
            report = audit.stage(self.name)
            for row in rows:
                report.rows_in += 1
                if row.task == "chat":
                    audit.drop_example(report, row, "chat_not_wanted")
                    continue
                report.rows_out += 1
                yield row

    monkeypatch.setattr(pipeline, "ROW_STAGES", (*pipeline.ROW_STAGES, DropChat))
    config = BuildConfig(out=str(tmp_path / "out"), tasks=("chat", "translation"))
    output = pipeline.run_pipeline(config)
    rows = [row for split in output.splits.values() for row in split]
    assert rows and all(row.task == "translation" for row in rows)
    report = next(r for r in output.audit.reports if r.name == "drop_chat")
    assert report.dropped["chat_not_wanted"] == report.rows_in - report.rows_out > 0
    assert [r.name for r in output.audit.reports][-2:] == ["drop_chat", "split"]
    assert dataclasses.is_dataclass(output) and output.audit.removed[-1]["stage"] == "drop_chat"
