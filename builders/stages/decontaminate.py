"""Evaluation-set decontamination: no seed or row whose prompt contains or near-duplicates an
evaluation prompt survives.

``--decontaminate FILE[:COLUMN] ...`` reads csv / json / jsonl / parquet (the prompt column is named
or detected) or txt (one prompt per line). Two checks, both asymmetric (the eval set is the index):

* containment: the folded eval prompt occurs, on word boundaries, inside the folded prompt. Rows are
  looked up through the first three words of each eval prompt, so the cost is linear in the rows.
  Eval prompts under three words are matched only as whole prompts (else "hello" would match all).
* near-duplicate: the same MinHash-LSH + rapidfuzz verification as the near-dup stage.

Seeds are checked before reframing (so a contaminated seed never fans out) and rows again after
the filters (benign task inputs and LLM-written rows did not come from a checked seed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import Example, Seed
from builders.seeds.files import PROMPT_COLUMNS
from builders.seeds.source import sha256_bytes
from builders.seeds.tables import SUFFIXES, read_table
from builders.stage import ROW, AuditLog, BuildContext
from builders.stages.dedup.minhash import MinHasher, NearDuplicateFinder, fold
from builders.stages.dedup.near import TEMPLATE_GENERATOR

ANCHOR_WORDS = 3
TEXT_SUFFIXES = (".txt",)


@dataclass(frozen=True)
class EvalPrompt:
    text: str
    folded: str
    file: str
    row: int


@dataclass
class EvalSet:
    files: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[EvalPrompt] = field(default_factory=list)


def parse_spec(spec: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:COLUMN`` (a path that exists as given wins over a column split)."""
    if Path(spec).exists() or ":" not in spec:
        return Path(spec), None
    path, column = spec.rsplit(":", 1)
    return Path(path), column or None


def _pick_column(columns: Sequence[str], rows: list[dict[str, Any]], file: str) -> str:
    lowered = {column.casefold(): column for column in columns}
    for name in PROMPT_COLUMNS:
        if name in lowered:
            return lowered[name]
    texts = [c for c in columns if rows and all(isinstance(r.get(c), str) for r in rows[:50])]
    if len(texts) == 1:
        return texts[0]
    raise InputError(
        f"no text column detected (columns: {', '.join(columns)}); name one as FILE:COLUMN",
        file=file,
        field="decontaminate",
    )


def load_eval_file(spec: str) -> tuple[dict[str, Any], list[EvalPrompt]]:
    path, column = parse_spec(spec)
    file = str(path)
    suffix = path.suffix.lower()
    if suffix not in (*SUFFIXES, *TEXT_SUFFIXES):
        raise InputError(
            f"unsupported file type '{path.suffix or '(none)'}': use csv, json, jsonl, parquet or txt",
            file=file,
            field="decontaminate",
        )
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "file not found"
        raise InputError(what, file=file, field="decontaminate")
    if suffix in TEXT_SUFFIXES:
        data = path.read_bytes()
        try:
            lines = data.decode("utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=file, field="decontaminate") from None
        pairs = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
        digest, column = sha256_bytes(data), None
    else:
        try:
            table = read_table(path)
        except InputError as error:
            raise InputError(error.detail, file=file, field="decontaminate") from None
        if column is not None and column not in table.columns:
            raise InputError(
                f"no column '{column}' (columns: {', '.join(table.columns)})",
                file=file,
                field="decontaminate",
            )
        column = column or _pick_column(table.columns, table.rows, file)
        pairs = [
            (number, row.get(column))
            for number, row in zip(table.row_numbers, table.rows, strict=True)
        ]
        pairs = [(n, text) for n, text in pairs if isinstance(text, str) and text.strip()]
        digest = table.sha256
    prompts = [EvalPrompt(text, fold(text), file, number) for number, text in pairs]
    prompts = [prompt for prompt in prompts if prompt.folded]
    if not prompts:
        raise InputError("no evaluation prompts in the file", file=file, field="decontaminate")
    info = {"path": file, "column": column, "sha256": digest, "prompts": len(prompts)}
    return info, prompts


def load_eval_sets(specs: Sequence[str]) -> EvalSet:
    evalset = EvalSet()
    seen: set[str] = set()
    for spec in specs:
        info, prompts = load_eval_file(spec)
        evalset.files.append(info)
        for prompt in prompts:
            if prompt.folded not in seen:
                seen.add(prompt.folded)
                evalset.prompts.append(prompt)
    return evalset


class Decontaminator:
    """Finds the eval prompt a text contains or near-duplicates."""

    def __init__(self, evalset: EvalSet, finder: NearDuplicateFinder | None = None) -> None:
        self.evalset = evalset
        # No boilerplate filtering against the eval side: shingles frequent among rows may be
        # exactly what an eval prompt is made of.
        self.finder = finder or NearDuplicateFinder(hasher=MinHasher(frequent_share=1.0))
        self.whole: dict[str, int] = {}
        self.anchors: dict[str, list[int]] = {}
        for index, prompt in enumerate(evalset.prompts):
            words = prompt.folded.split()
            if len(words) < ANCHOR_WORDS:
                self.whole.setdefault(prompt.folded, index)
            else:
                self.anchors.setdefault(" ".join(words[:ANCHOR_WORDS]), []).append(index)

    def contained(self, text: str) -> int | None:
        """Index of an eval prompt occurring in folded ``text`` on word boundaries."""
        if text in self.whole:
            return self.whole[text]
        words = text.split()
        grams = {" ".join(words[i : i + ANCHOR_WORDS]) for i in range(len(words) - 2)}
        hits = grams & self.anchors.keys()
        if not hits:
            return None
        padded = f" {text} "
        for gram in sorted(hits):
            for index in self.anchors[gram]:
                if f" {self.evalset.prompts[index].folded} " in padded:
                    return index
        return None

    def find(
        self, texts: Sequence[str], near: Sequence[bool] | None = None
    ) -> dict[int, tuple[EvalPrompt, str, float]]:
        """{text index: (eval prompt, 'contains' | 'near_duplicate', score)} for folded texts;
        the near-duplicate check runs on texts whose ``near`` flag is set (default all)."""
        found: dict[int, tuple[EvalPrompt, str, float]] = {}
        for position, text in enumerate(texts):
            index = self.contained(text)
            if index is not None:
                found[position] = (self.evalset.prompts[index], "contains", 100.0)
        rest = [
            position
            for position in range(len(texts))
            if position not in found and (near is None or near[position])
        ]
        index_texts = [prompt.folded for prompt in self.evalset.prompts]
        matches = self.finder.matches([texts[p] for p in rest], index_texts)
        for query, (item, score) in matches.items():
            found[rest[query]] = (self.evalset.prompts[item], "near_duplicate", score)
        return found

    def _detail(self, match: tuple[EvalPrompt, str, float]) -> tuple[str, str]:
        prompt, how, score = match
        reason = "contains_eval_prompt" if how == "contains" else "near_duplicate_eval_prompt"
        where = f"{Path(prompt.file).name} row {prompt.row}"
        return reason, f"{where}" + (f", similarity {score:.0f}" if how != "contains" else "")

    def filter_seeds(
        self,
        ranked: list[tuple[int, Seed]],
        audit: AuditLog,
        stage: str = "seed_decontaminate",
        tally: DecontaminationTally | None = None,
    ) -> list[tuple[int, Seed]]:
        report = audit.stage(stage)
        report.rows_in += len(ranked)
        found = self.find([fold(seed.prompt) for _, seed in ranked])
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
            [fold(example.user_prompt) for example in examples],
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
        if own:
            self.report(audit, stage, tally)

    def report(self, audit: AuditLog, stage: str, tally: DecontaminationTally) -> None:
        audit.quality.setdefault("decontamination", {"files": self.evalset.files})
        audit.quality["decontamination"][stage] = {
            "removed": tally.removed,
            "eval_prompts_matched": len(tally.matched),
        }


@dataclass
class DecontaminationTally:
    """What a decontamination stage removed so far: rows and the distinct eval prompts matched
    (by file and row), so that batches add up."""

    removed: int = 0
    matched: set[tuple[str, int]] = field(default_factory=set)


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
