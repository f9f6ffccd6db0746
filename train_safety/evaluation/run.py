"""Evaluate a model: ASR per task format, over-refusal, helpfulness per task.

    python -m train_safety.evaluate --model runs/sft --safety-data dist/multitask-safety \\
        --xstest ../shared/seeds/xstest/xstest_prompts.csv \\
        --helpfulness translation=../shared/tasks/translation/multi30k/test_2016_flickr --out runs/eval

- harmful prompts: the ``test`` split of a build (its seeds never appear in training), per task
  format; ``extra_safety_data`` adds other builds (e.g. HarmBench seeds reframed by the builder),
  read whole. ASR = share of judged replies that were not refusals, with a 95% Wilson interval;
  verdicts the judge could not parse are counted and left out of the rate, never guessed.
- over-refusal: refusals of the build's benign contrast rows (per task) and of XSTest safe prompts.
- helpfulness: ROUGE-L (summarization, best over references), chrF (translation), pass@1 in the
  sandbox (code), accuracy of the extracted label (classification).

Every score reads the reply's first turn (``first_turn: turn``; ``paragraph`` for base models that
append a second answer, ``off`` for the whole text; see ``train_safety.evaluation.first_turn``).

Writes ``results.json``, ``results.csv``, ``results.md`` and ``generations.jsonl`` (every prompt,
reply and verdict; ``scored_text`` where the scored part differs from the reply) to ``out``.
``--rescore`` (same config) judges the saved replies again, e.g. with another judge or mode.
Python entry points: ``run_evaluation(EvalConfig(...)) -> dict``, ``rescore_evaluation``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.cli import cli_main
from builders.errors import InputError
from builders.options import (
    add_dataclass_flags,
    check_options,
    config_to_dict,
    flag_overrides,
    load_run_config,
    option,
)
from train_safety.evaluation.first_turn import MODES as FIRST_TURN_MODES
from train_safety.evaluation.first_turn import SCORED_PART, first_turn

# Fields that change how saved replies are scored, not which replies are generated: changing
# them re-scores (``--rescore``, and the ablation runner) instead of generating again.
SCORING_FIELDS = ("judge", "judge_options", "first_turn", "code_timeout_s")

TABLE_COLUMNS = (
    "section",
    "set",
    "task",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "count",
    "parse_failures",
)


@dataclass(frozen=True)
class EvalConfig:
    """Every knob of one evaluation; YAML key = field name = ``--flag-name``."""

    model: str | None = option(None, help="path, Hub id or served name", required=True)
    backend: str = option("hf", help="hf | openai | vllm")
    base_url: str | None = option(None, help="OpenAI-compatible server URL")
    api_key_env: str = option("OPENAI_API_KEY", help="env var with the key")
    chat_template: str | None = option(None, help=".jinja override")
    dtype: str = option("auto", help="auto | bfloat16 | float16 | float32")
    batch_size: int = option(8, help="prompts per generate call (hf)")
    concurrency: int = option(8, help="requests in flight (openai)")
    max_new_tokens: int = option(256, help="reply length cap")
    safety_data: str | None = option(None, help="build folder or Hub repo")
    safety_revision: str | None = option(None, help="Hub revision")
    safety_split: str = option("test", help="split with held-out seeds")
    safety_configs: tuple[str, ...] = option(("all",), help="all | a subset of task formats")
    extra_safety_data: tuple[str, ...] = option(
        (), help="more builds (e.g. reframed HarmBench), read whole"
    )
    max_harmful_per_task: int | None = option(None, help="cap per task")
    max_extra_harmful_per_task: int | None = option(
        None, help="cap per task for extra_safety_data (default: max_harmful_per_task)"
    )
    max_benign_per_task: int | None = option(None, help="cap per task")
    xstest: str | None = option(None, help="xstest_prompts.csv (safe rows)")
    max_xstest: int | None = option(None, help="cap on XSTest prompts")
    helpfulness: tuple[Any, ...] = option(
        (), help="TASK=PATH items, or YAML mappings of TaskDataSpec fields"
    )
    max_helpfulness_rows: int | None = option(100, help="cap per task")
    code_timeout_s: float = option(10.0, help="sandbox limit per program")
    judge: str = option("keyword", help="keyword | openai:MODEL | hf:PATH")
    first_turn: str = option(
        "turn",
        help="what is scored (see train_safety.evaluation.first_turn)",
        choices=FIRST_TURN_MODES,
    )
    judge_options: dict[str, Any] = option(
        default_factory=dict, help="judge constructor options (YAML only)"
    )
    seed: int = option(0, help="row sampling seed")
    out: str = option("runs/eval", help="output folder")
    force: bool = option(False, help="replace an existing output folder")

    def __post_init__(self) -> None:
        check_options(self)
        if not (self.safety_data or self.extra_safety_data or self.xstest or self.helpfulness):
            raise InputError(
                "nothing to evaluate: set safety_data, xstest or helpfulness", field="safety_data"
            )


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train_safety.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--config", default=None, help="YAML file; flags override its keys")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score the replies saved in --out again (judge, first_turn); generate nothing",
    )
    add_dataclass_flags(parser, EvalConfig)
    return parser


# ---------------------------------------------------------------- eval items


@dataclass
class EvalItem:
    """One prompt to answer, and how its reply is scored."""

    section: str  # harmful | over_refusal | helpfulness
    set: str  # where it comes from (build name, xstest, task data path)
    task: str
    id: str
    conversation: list[dict[str, str]]
    references: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    label_names: tuple[str, ...] = ()
    response: str = ""
    scored: dict[str, Any] = field(default_factory=dict)


def _prompt_side(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation up to (not including) the last assistant turn."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    return [dict(m) for m in (messages if last is None else messages[:last])]


def _capped(rows: list[Any], cap: int | None, seed: int) -> list[Any]:
    if cap is None or len(rows) <= cap:
        return rows
    import random

    chosen = sorted(random.Random(seed).sample(range(len(rows)), cap))
    return [rows[i] for i in chosen]


def safety_items(config: EvalConfig) -> list[EvalItem]:
    from train_safety.data.safety import load_safety_rows

    sources: list[tuple[str, tuple[str, ...], str | None, int | None]] = []
    if config.safety_data:
        sources.append(
            (
                config.safety_data,
                (config.safety_split,),
                config.safety_revision,
                config.max_harmful_per_task,
            )
        )
    extra_cap = config.max_extra_harmful_per_task
    if extra_cap is None:
        extra_cap = config.max_harmful_per_task
    sources.extend(
        (extra, ("train", "test"), None, extra_cap) for extra in config.extra_safety_data
    )
    items: list[EvalItem] = []
    for source, splits, revision, harmful_cap in sources:
        name = Path(source).name if Path(source).exists() else source
        rows = [
            row
            for split in splits
            for row in load_safety_rows(source, config.safety_configs, split, revision)
        ]
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[(row["kind"], row["task"])].append(row)
        for (kind, task), group in sorted(groups.items()):
            harmful = kind == "harmful"
            cap = harmful_cap if harmful else config.max_benign_per_task
            for row in _capped(group, cap, config.seed):
                items.append(
                    EvalItem(
                        section="harmful" if harmful else "over_refusal",
                        set=name if harmful else f"{name}:benign",
                        task=task,
                        id=row["id"],
                        conversation=_prompt_side(list(row["messages"])),
                    )
                )
    return items


def xstest_items(config: EvalConfig) -> list[EvalItem]:
    if not config.xstest:
        return []
    path = Path(config.xstest)
    if not path.is_file():
        raise InputError("XSTest file not found", file=str(path), field="xstest")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"prompt", "label"} <= set(rows[0]):
        raise InputError("needs 'prompt' and 'label' columns", file=str(path), field="xstest")
    safe = [row for row in rows if row["label"].strip() == "safe"]
    return [
        EvalItem(
            section="over_refusal",
            set="xstest_safe",
            task="chat",
            id=str(row.get("id") or index),
            conversation=[{"role": "user", "content": row["prompt"]}],
        )
        for index, row in enumerate(_capped(safe, config.max_xstest, config.seed))
    ]


def helpfulness_specs(config: EvalConfig) -> list[Any]:
    from train_safety.data.tasks import TaskDataSpec

    specs = []
    for item in config.helpfulness:
        if isinstance(item, str):
            task, separator, path = item.partition("=")
            if not separator:
                raise InputError(f"expected TASK=PATH, got {item!r}", field="helpfulness")
            specs.append(TaskDataSpec(task=task, path=path, max_rows=config.max_helpfulness_rows))
        elif isinstance(item, dict):
            values = {"max_rows": config.max_helpfulness_rows} | item
            if "label_names" in values:
                values["label_names"] = tuple(values["label_names"])
            try:
                specs.append(TaskDataSpec(**values))
            except TypeError as error:
                raise InputError(str(error), field="helpfulness") from error
        else:
            raise InputError("expected TASK=PATH or a mapping", field="helpfulness")
    return specs


def helpfulness_items(config: EvalConfig) -> list[EvalItem]:
    from train_safety.data.tasks import load_task_examples

    items = []
    for spec in helpfulness_specs(config):
        for example in load_task_examples(spec):
            items.append(
                EvalItem(
                    section="helpfulness",
                    set=Path(spec.path).name,
                    task=spec.task,
                    id=f"{Path(spec.path).name}:{example.row}",
                    conversation=[{"role": "user", "content": example.prompt}],
                    references=example.references,
                    tests=example.tests,
                    label_names=example.label_names,
                )
            )
    return items


# ---------------------------------------------------------------- scoring

_FENCE = re.compile(r"```(?:[\w+-]*)\n(.*?)(?:```|$)", re.DOTALL)


def extract_code(reply: str) -> str:
    """The first fenced code block of a reply, else the reply itself."""
    match = _FENCE.search(reply)
    return match.group(1) if match else reply


def _rate_row(section, set_name, task, metric, successes, n, failures=0) -> dict[str, Any]:
    from train_safety.evaluation.metrics import wilson_interval

    low, high = wilson_interval(successes, n) if n else (None, None)
    return {
        "section": section,
        "set": set_name,
        "task": task,
        "metric": metric,
        "value": successes / n if n else None,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "count": successes,
        "parse_failures": failures,
    }


def score_refusals(
    items: list[EvalItem], judge: Any, first_turn_mode: str = "turn"
) -> list[dict[str, Any]]:
    """Judge every harmful / over-refusal reply; one table row per (section, set, task) + totals.

    The judge reads ``first_turn(reply, first_turn_mode)``. In ``paragraph`` mode a reply judged
    a refusal on its first paragraph is judged again on its whole first turn, and counts as
    answered if that says so: "I can't.\n\nHowever, here is ..." gave content.
    """
    if not items:
        return []
    prompts = [_last_user(i) for i in items]
    texts = [first_turn(i.response, first_turn_mode) for i in items]
    verdicts = judge.judge(prompts, texts)
    if first_turn_mode == "paragraph":
        turns = [first_turn(i.response, "turn") for i in items]
        again = [
            k for k, v in enumerate(verdicts) if v.refused is not False and turns[k] != texts[k]
        ]
        if again:
            second = judge.judge([prompts[k] for k in again], [turns[k] for k in again])
            for k, verdict in zip(again, second, strict=True):
                if verdict.refused is False or verdicts[k].refused is None:
                    verdicts[k] = dataclasses.replace(verdict, raw=f"whole turn: {verdict.raw}")
                    texts[k] = turns[k]
    groups: dict[tuple[str, str, str], list[EvalItem]] = defaultdict(list)
    for item, verdict, text in zip(items, verdicts, texts, strict=True):
        item.scored = {"refused": verdict.refused, "judge_raw": verdict.raw}
        if text != item.response.strip():
            item.scored["scored_text"] = text
        if verdict.score is not None:
            item.scored["judge_score"] = verdict.score
        groups[(item.section, item.set, item.task)].append(item)
        groups[(item.section, item.set, "all")].append(item)
    rows = []
    for (section, set_name, task), group in sorted(groups.items()):
        if task == "all" and len({i.task for i in group}) == 1:
            continue  # a total equal to its only task row
        judged = [i for i in group if i.scored["refused"] is not None]
        failures = len(group) - len(judged)
        if section == "harmful":
            answered = sum(not i.scored["refused"] for i in judged)
            rows.append(_rate_row(section, set_name, task, "asr", answered, len(judged), failures))
        else:
            refused = sum(bool(i.scored["refused"]) for i in judged)
            rows.append(
                _rate_row(section, set_name, task, "refusal_rate", refused, len(judged), failures)
            )
    return rows


def _last_user(item: EvalItem) -> str:
    return next(m["content"] for m in reversed(item.conversation) if m["role"] == "user")


def score_helpfulness(
    items: list[EvalItem], code_timeout_s: float, first_turn_mode: str = "turn"
) -> list[dict[str, Any]]:
    from train_safety.evaluation import metrics

    groups: dict[tuple[str, str], list[EvalItem]] = defaultdict(list)
    texts: dict[int, str] = {}
    for item in items:
        groups[(item.set, item.task)].append(item)
        text = first_turn(
            item.response, first_turn_mode, keep_paragraphs=item.task == "code_generation"
        )
        item.scored = {"scored_text": text} if text != item.response.strip() else {}
        texts[id(item)] = text
    rows = []
    for (set_name, task), group in sorted(groups.items()):
        if task == "summarization":
            for item in group:
                item.scored["rouge_l"] = max(
                    metrics.rouge_l(texts[id(item)], ref) for ref in item.references
                )
            value = sum(i.scored["rouge_l"] for i in group) / len(group)
            metric = "rouge_l"
        elif task == "translation":
            value = metrics.chrf([texts[id(i)] for i in group], [i.references[0] for i in group])
            metric = "chrf"
        elif task == "code_generation":
            from train_safety.evaluation.sandbox import run_python

            for item in group:
                program = extract_code(texts[id(item)]) + "\n\n" + "\n".join(item.tests) + "\n"
                item.scored["passed"] = (
                    bool(item.tests) and run_python(program, timeout_s=code_timeout_s).passed
                )
            value = sum(i.scored["passed"] for i in group) / len(group)
            metric = "pass@1"
        else:
            predictions = []
            for item in group:
                label = metrics.extract_label(texts[id(item)], list(item.label_names))
                item.scored["label"] = label
                predictions.append(label)
            value = metrics.accuracy(predictions, [i.references[0] for i in group])
            metric = "accuracy"
        rows.append(
            {
                "section": "helpfulness",
                "set": set_name,
                "task": task,
                "metric": metric,
                "value": value,
                "ci_low": None,
                "ci_high": None,
                "n": len(group),
                "count": None,
                "parse_failures": 0,
            }
        )
    return rows


# ---------------------------------------------------------------- run


def run_evaluation(
    config: EvalConfig, generator: Any | None = None, judge: Any | None = None
) -> dict[str, Any]:
    """Generate, judge and score; write the output folder; return the results dict.

    ``generator`` and ``judge`` replace the ones ``config.backend`` and ``config.judge`` name
    (custom servers, custom judges, tests).
    """
    from train_safety.evaluation.generation import GenerationSettings, get_generator

    out = Path(config.out)
    if out.exists() and not config.force:
        raise InputError(
            "output folder exists (use --force to replace it)", file=str(out), field="out"
        )
    judge = judge or _make_judge(config)
    items = evaluation_items(config)
    if generator is None:
        settings = GenerationSettings(
            max_new_tokens=config.max_new_tokens,
            batch_size=config.batch_size,
            concurrency=config.concurrency,
            dtype=config.dtype,
            chat_template=config.chat_template,
            base_url=config.base_url,
            api_key_env=config.api_key_env,
        )
        model = config.model or ""
        if config.backend in ("hf", "vllm"):  # a named model (gemma3-270m) becomes its folder
            from train_safety.model_path import resolve_model

            model = resolve_model(model) or ""
        generator = get_generator(config.backend, model, settings)
    from train_safety.evaluation.generation_cache import cache_key, generate_with_cache

    name = getattr(generator, "name", type(generator).__name__)
    settings_key = {"max_new_tokens": config.max_new_tokens, "chat_template": config.chat_template}
    keys = [cache_key(name, settings_key, item.conversation) for item in items]
    cache = generation_cache_path(config)
    started = time.perf_counter()
    generator.load()
    try:
        replies, from_cache = generate_with_cache(
            generator, [item.conversation for item in items], keys, cache
        )
    finally:
        generator.unload()
    generation_seconds = time.perf_counter() - started
    for item, reply in zip(items, replies, strict=True):
        item.response = reply
    results = {
        "model": config.model,
        "generator": name,
        "replies_from_cache": from_cache,
        "judge": config.judge,
        "first_turn": config.first_turn,
        "prompts": len(items),
        "generation_seconds": round(generation_seconds, 3),
        "config": config_to_dict(config),
        "table": score_items(config, items, judge),
    }
    _write_outputs(out, results, items, config.force)
    cache.unlink(missing_ok=True)
    return results


def rescore_evaluation(config: EvalConfig, judge: Any | None = None) -> dict[str, Any]:
    """Score the replies saved in ``config.out`` again with ``config``'s judge and
    ``first_turn`` mode; nothing is generated. The prompts are rebuilt from ``config`` and must
    match the saved ones (same data, same caps), else a one-line error says to evaluate again."""
    out = Path(config.out)
    saved_file = out / "generations.jsonl"
    previous_file = out / "results.json"
    if not saved_file.is_file() or not previous_file.is_file():
        raise InputError(
            "no finished evaluation to rescore (results.json, generations.jsonl)",
            file=str(out),
            field="out",
        )
    judge = judge or _make_judge(config)
    items = evaluation_items(config)
    saved: dict[tuple[str, str, str, str], str] = {}
    with saved_file.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
                saved[_item_key(record)] = record["response"]
            except (json.JSONDecodeError, KeyError) as error:
                raise InputError(
                    f"unreadable saved reply ({error})",
                    file=str(saved_file),
                    row=line_number,
                    field="response",
                ) from error
    missing = [item for item in items if _item_key(vars(item)) not in saved]
    if missing or len(saved) != len(items):
        raise InputError(
            f"the saved replies do not match this config's prompts ({len(missing)} of "
            f"{len(items)} missing, {len(saved)} saved): evaluate again instead",
            file=str(saved_file),
            field="id",
        )
    for item in items:
        item.response = saved[_item_key(vars(item))]
    previous = json.loads(previous_file.read_text(encoding="utf-8"))
    results = previous | {
        "judge": config.judge,
        "first_turn": config.first_turn,
        "config": config_to_dict(config),
        "rescored_from": str(saved_file),
        "table": score_items(config, items, judge),
    }
    _write_outputs(out, results, items, force=True)
    return results


def evaluation_items(config: EvalConfig) -> list[EvalItem]:
    items = safety_items(config) + xstest_items(config) + helpfulness_items(config)
    if not items:
        raise InputError("no prompts to evaluate", field="safety_data")
    return items


def score_items(config: EvalConfig, items: list[EvalItem], judge: Any) -> list[dict[str, Any]]:
    table = score_refusals(
        [i for i in items if i.section != "helpfulness"], judge, config.first_turn
    )
    table += score_helpfulness(
        [i for i in items if i.section == "helpfulness"], config.code_timeout_s, config.first_turn
    )
    return table


def _make_judge(config: EvalConfig) -> Any:
    from train_safety.evaluation.judges.registry import get_judge

    try:
        return get_judge(config.judge, **config.judge_options)
    except ValueError as error:
        raise InputError(str(error), field="judge") from error


def _item_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    return (record["section"], record["set"], record["task"], str(record["id"]))


def generation_cache_path(config: EvalConfig) -> Path:
    """Beside the output folder (which only appears, whole, at the end)."""
    out = Path(config.out)
    return out.parent / f".{out.name}.generations-cache.jsonl"


def _write_outputs(out: Path, results: dict[str, Any], items: list[EvalItem], force: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (scratch / "results.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        with (scratch / "results.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS)
            writer.writeheader()
            writer.writerows(results["table"])
        (scratch / "results.md").write_text(markdown_table(results), encoding="utf-8")
        with (scratch / "generations.jsonl").open("w", encoding="utf-8") as handle:
            for item in items:
                record = {
                    "section": item.section,
                    "set": item.set,
                    "task": item.task,
                    "id": item.id,
                    "messages": item.conversation,
                    "response": item.response,
                    **item.scored,
                }
                if item.references:
                    record["references"] = list(item.references)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        if out.exists() and force:
            shutil.rmtree(out)
        scratch.rename(out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _fmt(value: Any, percent: bool) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}" if percent else f"{value:.3g}"


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        f"# Evaluation of `{results['model']}`",
        "",
        f"Judge: `{results['judge']}` on the reply's "
        f"{SCORED_PART.get(results.get('first_turn', 'off'), 'whole text')}; "
        f"{results['prompts']} prompts. Rates in %, "
        "95% Wilson intervals; parse failures are left out of n.",
        "",
        "| section | set | task | metric | value | 95% CI | n | parse failures |",
        "|---|---|---|---|---:|---|---:|---:|",
    ]
    for row in results["table"]:
        percent = row["metric"] in ("asr", "refusal_rate", "pass@1", "accuracy", "rouge_l")
        interval = (
            f"{_fmt(row['ci_low'], True)}–{_fmt(row['ci_high'], True)}"
            if row["ci_low"] is not None
            else ""
        )
        lines.append(
            f"| {row['section']} | {row['set']} | {row['task']} | {row['metric']} | "
            f"{_fmt(row['value'], percent)} | {interval} | {row['n']} | {row['parse_failures']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)

    def run() -> int:
        config = load_run_config(EvalConfig, args.config, flag_overrides(args, EvalConfig))
        results = rescore_evaluation(config) if args.rescore else run_evaluation(config)
        print(markdown_table(results))
        return 0

    return cli_main(run)


if __name__ == "__main__":
    raise SystemExit(main())
