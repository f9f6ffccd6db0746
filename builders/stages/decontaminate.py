"""Evaluation-set decontamination: no seed or row whose prompt contains or near-duplicates an
evaluation prompt survives (``--decontaminate FILE[:COLUMN] ...``; files: ``eval_sets``).

The matching (``eval_index.EvalIndex``) runs on normalized text (abbreviations, articles,
politeness and leading request verbs do not count), with a token-level containment test and a
fuzzy one, and without the near-dup stage's template-sibling guard: a miss here leaks an
evaluation prompt into training.

Seeds are checked before reframing (so a contaminated seed never fans out) and rows again after
the filters (benign task inputs and LLM-written rows did not come from a checked seed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.schema import Example, Seed
from builders.stage import ROW, AuditLog, BuildContext
from builders.stages.dedup.near import TEMPLATE_GENERATOR
from builders.stages.eval_index import MATCH_KINDS, EvalIndex, EvalMatch
from builders.stages.eval_sets import EvalPrompt, EvalSet, load_eval_sets

__all__ = ["Decontaminator", "RowDecontamination", "SeedDecontamination", "load_eval_sets"]


class Decontaminator:
    """Finds the eval prompt a text contains or near-duplicates."""

    def __init__(self, evalset: EvalSet, index: EvalIndex | None = None) -> None:
        self.evalset = evalset
        self.index = index or EvalIndex([prompt.text for prompt in evalset.prompts])

    def find(
        self, texts: Sequence[str], near: Sequence[bool] | None = None
    ) -> dict[int, tuple[EvalPrompt, str, float]]:
        """{text index: (eval prompt, how, score)} (``how``: see ``EvalMatch``); the fuzzy test
        runs on texts whose ``near`` flag is set (default all)."""
        found: dict[int, EvalMatch] = self.index.find(texts, near)
        return {
            position: (self.evalset.prompts[match.index], match.how, match.score)
            for position, match in found.items()
        }

    def _detail(self, match: tuple[EvalPrompt, str, float]) -> tuple[str, str]:
        prompt, how, score = match
        where = f"{Path(prompt.file).name} row {prompt.row}"
        if how == "contains":
            return "contains_eval_prompt", where
        if how == "same_request":
            return "near_duplicate_eval_prompt", f"{where}, the same request once normalized"
        return "near_duplicate_eval_prompt", f"{where}, similarity {score:.0f}"

    def filter_seeds(
        self,
        ranked: list[tuple[int, Seed]],
        audit: AuditLog,
        stage: str = "seed_decontaminate",
        tally: DecontaminationTally | None = None,
    ) -> list[tuple[int, Seed]]:
        report = audit.stage(stage)
        report.rows_in += len(ranked)
        found = self.find([seed.prompt for _, seed in ranked])
        for position, match in sorted(found.items()):
            reason, detail = self._detail(match)
            audit.drop_seed(
                report, ranked[position][1], reason, detail, matched_prompt=match[0].text
            )
        kept = [pair for position, pair in enumerate(ranked) if position not in found]
        report.rows_out += len(kept)
        self._tally(audit, stage, found, tally)
        return kept

    def filter_examples(
        self,
        examples: list[Example],
        audit: AuditLog,
        stage: str = "decontaminate",
        tally: DecontaminationTally | None = None,
    ) -> list[Example]:
        report = audit.stage(stage)
        report.rows_in += len(examples)
        # Template rows wrap an already-checked seed in fixed text: containment still runs on them,
        # the near-duplicate check only on rows whose wording a backend chose.
        found = self.find(
            [example.user_prompt for example in examples],
            [example.generator != TEMPLATE_GENERATOR for example in examples],
        )
        for position, match in sorted(found.items()):
            reason, detail = self._detail(match)
            audit.drop_example(
                report, examples[position], reason, detail, matched_prompt=match[0].text
            )
        kept = [example for position, example in enumerate(examples) if position not in found]
        report.rows_out += len(kept)
        self._tally(audit, stage, found, tally)
        return kept

    def _tally(
        self,
        audit: AuditLog,
        stage: str,
        found: dict[int, Any],
        tally: DecontaminationTally | None,
    ) -> None:
        """Count what ``found`` removed: into ``tally`` (a stage run batch by batch), or straight
        into the audit (one call over everything)."""
        own = tally is None
        tally = DecontaminationTally() if own else tally
        tally.removed += len(found)
        tally.matched.update((match[0].file, match[0].row) for match in found.values())
        tally.by_match.update(how for _, how, _ in found.values())
        if own:
            self.report(audit, stage, tally)

    def report(self, audit: AuditLog, stage: str, tally: DecontaminationTally) -> None:
        audit.quality.setdefault("decontamination", {"files": self.evalset.files})
        audit.quality["decontamination"][stage] = {
            "removed": tally.removed,
            "eval_prompts_matched": len(tally.matched),
            "by_match": {how: tally.by_match[how] for how in MATCH_KINDS if tally.by_match[how]},
        }


@dataclass
class DecontaminationTally:
    """What a decontamination stage removed so far: rows and the distinct eval prompts matched
    (by file and row), so that batches add up."""

    removed: int = 0
    matched: set[tuple[str, int]] = field(default_factory=set)
    by_match: Counter[str] = field(default_factory=Counter)


class _DecontaminationStage:
    """A ``ROW`` stage: every prompt is checked against the eval set alone, so batches add up."""

    name: str
    kind = ROW

    def __init__(self, decontaminator: Decontaminator) -> None:
        self.decontaminator = decontaminator
        self.tally = DecontaminationTally()

    def partial(self) -> DecontaminationTally:
        taken, self.tally = self.tally, DecontaminationTally()
        return taken

    def absorb(self, partial: DecontaminationTally) -> None:
        self.tally.removed += partial.removed
        self.tally.matched |= partial.matched
        self.tally.by_match.update(partial.by_match)

    def finish(self, audit: AuditLog) -> None:
        self.decontaminator.report(audit, self.name, self.tally)


class SeedDecontamination(_DecontaminationStage):
    """Seeds: drop those that contain or near-duplicate an evaluation prompt (``--decontaminate``)."""

    name = "seed_decontaminate"

    @classmethod
    def from_build(cls, context: BuildContext) -> SeedDecontamination | None:
        return None if context.decontaminator is None else cls(context.decontaminator)

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        yield from self.decontaminator.filter_seeds(list(ranked), audit, self.name, self.tally)


class RowDecontamination(_DecontaminationStage):
    """Rows: the same check on every user prompt (near-duplicates: rows a backend worded)."""

    name = "decontaminate"

    @classmethod
    def from_build(cls, context: BuildContext) -> RowDecontamination | None:
        return None if context.decontaminator is None else cls(context.decontaminator)

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        yield from self.decontaminator.filter_examples(list(examples), audit, self.name, self.tally)
