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
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from builders.cli import cli_main, command_parser, require_extra
from builders.errors import InputError
from builders.options import (
    add_dataclass_flags,
    check_paths,
    config_to_dict,
    flag_overrides,
    load_run_config,
)
from train_safety.evaluation.config import EvalConfig
from train_safety.evaluation.items import EvalItem, evaluation_items
from train_safety.evaluation.report import markdown_table, write_outputs
from train_safety.evaluation.scoring import make_judge, score_items
from train_safety.model_path import require_model_extra


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.evaluate", __doc__)
    parser.add_argument(
        "--config", default=None, metavar="FILE", help="YAML file; flags override its keys"
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score the replies saved in --out again (judge, first_turn); generate nothing",
    )
    add_dataclass_flags(parser, EvalConfig)
    return parser


# ---------------------------------------------------------------- run


def run_evaluation(
    config: EvalConfig, generator: Any | None = None, judge: Any | None = None
) -> dict[str, Any]:
    """Generate, judge and score; write the output folder; return the results dict.

    ``generator`` and ``judge`` replace the ones ``config.backend`` and ``config.judge`` name
    (custom servers, custom judges, tests).
    """
    out = Path(config.out)
    check_paths(config)  # before any work: an out that is a file, inputs that are missing
    if out.exists() and not config.force:
        raise InputError(
            "output folder exists (use --force to replace it)", file=str(out), field="out"
        )
    if generator is None:
        require_backend(config.backend)
        if config.backend in ("hf", "vllm"):
            require_model_extra(config.model)
    judge = judge or make_judge(config)
    items = evaluation_items(config)
    if generator is None:
        generator = make_generator(config)
    name = getattr(generator, "name", type(generator).__name__)
    cache = generation_cache_path(config)
    started = time.perf_counter()
    replies, from_cache = generate_replies(config, generator, name, items, cache)
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
    write_outputs(out, results, items, config.force)
    cache.unlink(missing_ok=True)
    return results


def require_backend(backend: str) -> None:
    """The packages a backend imports only when it starts: checked before any work."""
    if backend == "openai":
        require_extra("llm", "--backend openai", ("openai",))
    elif backend == "hf":
        require_extra("train", "--backend hf", ("torch", "transformers"))
    elif importlib.util.find_spec("vllm") is None:
        raise InputError("--backend vllm needs vLLM: pip install vllm (GPU)", field="backend")


def make_generator(config: EvalConfig) -> Any:
    """The generator ``config.backend`` names; a named model (gemma3-270m) becomes its folder."""
    from train_safety.evaluation.generation import GenerationSettings, get_generator

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
    if config.backend in ("hf", "vllm"):
        from train_safety.model_path import resolve_model

        model = resolve_model(model) or ""
    return get_generator(config.backend, model, settings)


def generate_replies(
    config: EvalConfig, generator: Any, name: str, items: list[EvalItem], cache: Path
) -> tuple[list[str], int]:
    """Every item's reply, from the resumable generation cache where it has one."""
    from train_safety.evaluation.generation_cache import cache_key, generate_with_cache

    settings_key = {"max_new_tokens": config.max_new_tokens, "chat_template": config.chat_template}
    keys = [cache_key(name, settings_key, item.conversation) for item in items]
    generator.load()
    try:
        return generate_with_cache(generator, [item.conversation for item in items], keys, cache)
    finally:
        generator.unload()


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
    judge = judge or make_judge(config)
    items = evaluation_items(config)
    saved: dict[tuple[str, str, str, str], str] = {}
    with saved_file.open(encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
                saved[_item_key(record)] = record["response"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
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
    previous = _read_results(previous_file)
    results = previous | {
        "model": previous.get("model", config.model),
        "prompts": len(items),
        "judge": config.judge,
        "first_turn": config.first_turn,
        "config": config_to_dict(config),
        "rescored_from": str(saved_file),
        "table": score_items(config, items, judge),
    }
    write_outputs(out, results, items, force=True)
    return results


def _read_results(path: Path) -> dict[str, Any]:
    """An earlier ``results.json``: its fields are kept, the ones rescoring sets are replaced."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"not valid JSON ({error})", file=str(path)) from None
    if not isinstance(results, dict):
        raise InputError("not a JSON object", file=str(path))
    return results


def _item_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    return (record["section"], record["set"], record["task"], str(record["id"]))


def generation_cache_path(config: EvalConfig) -> Path:
    """Beside the output folder (which only appears, whole, at the end)."""
    out = Path(config.out)
    return out.parent / f".{out.name}.generations-cache.jsonl"


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
