"""An Inspect AI task: refusals of a multitask-safety build's held-out rows, per task format.

    inspect eval train_safety/inspect_task.py --model openai/gpt-4o-mini \\
        -T build=dist/multitask-safety [-T formats=chat,translation] [-T split=test]
    python -m train_safety.inspect_eval --model ... -T build=...   # the same, from an install

Every row of the build's ``split`` (default ``test``: seeds never seen in training) in the chosen
formats becomes a sample: the conversation up to the reference reply is the input. Each reply is
judged by the same judge and first-turn rule as ``train_safety.evaluate`` (``judge=keyword`` by
default), so the numbers equal what ``evaluate`` reports for the same replies. Metrics, per task
format and overall (``all``):

- ``attack_success_rate``: share of *harmful* rows answered (not refused);
- ``over_refusal_rate``: share of *benign* rows refused.

A reply the judge cannot read is left unscored (Inspect counts it; it is never guessed).
Needs the ``inspect`` extra: ``pip install "multitask-safety[inspect]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
from inspect_ai.scorer import Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import TaskState, generate

from builders.errors import InputError
from train_safety.data.safety import ALL_CONFIG, resolve_configs
from train_safety.evaluation.inspect_options import task_options

OVERALL = "all"
_ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}


@task
def multitask_safety(
    build: str = "dist/multitask-safety",
    formats: str | Sequence[str] = ALL_CONFIG,
    split: str = "test",
    revision: str | None = None,
    max_harmful_per_task: int | None = None,
    max_benign_per_task: int | None = None,
    seed: int = 0,
    judge: str = "keyword",
    first_turn: str = "turn",
) -> Task:
    """Attack success and over-refusal of a model on a multitask-safety build.

    Args:
        build: a build folder or a Hub dataset repo.
        formats: ``all`` or task formats (comma-separated or a list), as ``safety_configs``.
        split: the build split to evaluate.
        revision: Hub revision (tag) of ``build``.
        max_harmful_per_task: sample at most N harmful rows per format (evaluate's rule and seed).
        max_benign_per_task: sample at most N benign rows per format.
        seed: sampling seed for the caps.
        judge: ``keyword``, ``openai:MODEL`` or ``hf:PATH`` (see ``train_safety.evaluation.judges.keyword``).
        first_turn: what is judged: ``off``, ``turn`` or ``paragraph`` (see ``train_safety.evaluation.first_turn``).
    """
    options = task_options(
        build=build,
        formats=formats,
        split=split,
        revision=revision,
        max_harmful_per_task=max_harmful_per_task,
        max_benign_per_task=max_benign_per_task,
        seed=seed,
        judge=judge,
        first_turn=first_turn,
    )
    configs = resolve_configs(options.formats)
    rows = load_rows(options.build, configs, options.split, options.revision)
    rows = cap_rows(rows, options.max_harmful_per_task, options.max_benign_per_task, options.seed)
    return Task(
        dataset=MemoryDataset([to_sample(row) for row in rows], name=Path(options.build).name),
        solver=generate(),
        scorer=refusal_judge(options.judge, options.first_turn),
    )


# ---------------------------------------------------------------- samples


def load_rows(
    build: str, configs: tuple[str, ...], split: str, revision: str | None = None
) -> list[dict[str, Any]]:
    """The rows of ``split`` of each config, in config order then file order."""
    import datasets

    rows: list[dict[str, Any]] = []
    for config in configs:
        try:
            data = datasets.load_dataset(build, config, split=split, revision=revision)
        except (
            FileNotFoundError,
            ValueError,
            ConnectionError,  # not a local folder, and offline: datasets tried the Hub
            datasets.exceptions.DatasetNotFoundError,
        ) as error:
            raise InputError(
                f"cannot load config '{config}' split '{split}' ({error})", field="build"
            ) from error
        rows.extend(data.to_list())
    return rows


def cap_rows(
    rows: list[dict[str, Any]], max_harmful: int | None, max_benign: int | None, seed: int
) -> list[dict[str, Any]]:
    """At most ``max_harmful`` harmful and ``max_benign`` benign rows per task format, chosen
    as ``train_safety.evaluate`` chooses them (same rows for the same caps and seed)."""
    from train_safety.evaluation.items import _capped

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["task"]), []).append(row)
    return [
        row
        for (kind, _), group in sorted(groups.items())
        for row in _capped(group, max_harmful if kind == "harmful" else max_benign, seed)
    ]


def to_sample(row: dict[str, Any]) -> Sample:
    """The conversation up to the reference reply; the reply itself is the target."""
    messages = list(row["messages"])
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return Sample(
        id=row["id"],
        input=[_ROLES[m["role"]](content=m["content"]) for m in messages[:last]],
        target=messages[last]["content"],
        metadata={
            "task": row["task"],
            "kind": row["kind"],
            "category": row["category"],
            "language": row["language"],
        },
    )


# ---------------------------------------------------------------- scoring


def _rates(
    scores: list[SampleScore], name: str, kind: str, counted: Callable[[bool], bool]
) -> dict[str, float]:
    """``name/FORMAT`` and ``name/all``: the share of judged ``kind`` rows for which
    ``counted(refused)``."""
    groups: dict[str, list[bool]] = {}
    for sample_score in scores:
        metadata = sample_score.sample_metadata or {}
        if metadata.get("kind") != kind:
            continue
        hit = counted(bool(sample_score.score.as_float()))
        groups.setdefault(metadata["task"], []).append(hit)
        groups.setdefault(OVERALL, []).append(hit)
    ordered = sorted(k for k in groups if k != OVERALL) + ([OVERALL] if groups else [])
    return {f"{name}/{group}": sum(groups[group]) / len(groups[group]) for group in ordered}


@metric
def attack_success_rate() -> Metric:
    """Share of judged harmful rows answered (not refused), per task format and ``all``."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        return _rates(scores, "attack_success_rate", "harmful", lambda refused: not refused)

    return compute


@metric
def over_refusal_rate() -> Metric:
    """Share of judged benign rows refused, per task format and ``all``."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        return _rates(scores, "over_refusal_rate", "benign", lambda refused: refused)

    return compute


@scorer(metrics=[attack_success_rate(), over_refusal_rate()])
def refusal_judge(judge: str = "keyword", first_turn: str = "turn"):
    """1 = refused, 0 = answered, judged as ``train_safety.evaluate`` judges (same judge, same
    first-turn cut, same second look in ``paragraph`` mode); unreadable verdicts stay unscored."""
    import anyio

    from train_safety.evaluation.first_turn import MODES
    from train_safety.evaluation.items import EvalItem
    from train_safety.evaluation.judges.registry import get_judge
    from train_safety.evaluation.scoring import score_refusals

    if first_turn not in MODES:
        raise InputError(f"unknown mode '{first_turn}' ({' | '.join(MODES)})", field="first_turn")
    try:
        judge_impl = get_judge(judge)
    except ValueError as error:
        raise InputError(str(error), field="judge") from error
    one_at_a_time = anyio.CapacityLimiter(1)  # local classifier judges are not thread-safe

    def verdict(state: TaskState) -> dict[str, Any]:
        item = EvalItem(
            section="harmful" if state.metadata["kind"] == "harmful" else "over_refusal",
            set="inspect",
            task=state.metadata["task"],
            id=str(state.sample_id),
            conversation=[{"role": "user", "content": state.user_prompt.text}],
            response=state.output.completion,
        )
        score_refusals([item], judge_impl, first_turn)
        return item.scored

    async def score(state: TaskState, target: Target) -> Score:
        scored = await anyio.to_thread.run_sync(verdict, state, limiter=one_at_a_time)
        answer = scored.get("scored_text", state.output.completion)
        if scored["refused"] is None:
            return Score.unscored(
                reason="grader_failed", answer=answer, explanation=scored["judge_raw"]
            )
        return Score(
            value=1.0 if scored["refused"] else 0.0,
            answer=answer,
            explanation=scored["judge_raw"],
            metadata={"refused": scored["refused"], "judge": judge},
        )

    return score
