"""Ablation: does safety data work for my task, and what does it cost?

    python -m train_safety.ablate --config train_safety/configs/ablate-llama3.1-8b.yaml --out DIR
    python -m train_safety.ablate --demo --out DIR       # CPU model organism, offline, ~15 min

Runs a grid of conditions (base model; task fine-tune only; task + chat-only safety data; task +
multitask safety data with the same row budget; optionally a safety-fraction sweep and several
downstream tasks). Each condition is trained with ``train_safety.train.sft`` and evaluated with
``train_safety.evaluation.run`` on the same held-out prompts. Writes ``results.json``, ``results.csv``,
``report.md`` and PNG plots to ``--out``.

Resumable: a condition whose ``done.json`` carries the same config hash (run configs + data
fingerprints) is reused, and the log says so; a changed config reruns that condition; ``--force``
reruns all. An interrupted condition keeps its finished model and the replies generated so far.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from builders.options import config_to_dict
from train_safety.ablation.config import (
    RUNNER_CHOSEN_FIELDS,
    AblationConfig,
    Condition,
    alignment_run,
    config_sha256,
    plan_conditions,
)
from train_safety.evaluation.config import EvalConfig
from train_safety.train.sft import SFTRunConfig

RUNNER_VERSION = 1  # bump when a change to the runner changes what a condition computes
DONE = "done.json"
STARTED = "condition.json"


def log_progress(message: str) -> None:
    print(f"[ablate {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sft_fingerprint(config: SFTRunConfig) -> dict[str, Any]:
    """What identifies a run's data: the build's manifest hash, the task files' sha256."""
    from train_safety.data import safety as safety_data
    from train_safety.data import tasks as task_data
    from train_safety.train.sft import task_data_spec

    prints: dict[str, Any] = {}
    if config.safety_data:
        prints["safety"] = safety_data.source_fingerprint(
            config.safety_data, config.safety_revision
        )
    if config.task_data:
        prints["task"] = task_data.source_fingerprint(task_data_spec(config))
    return prints


def eval_fingerprint(config: EvalConfig) -> dict[str, Any]:
    from train_safety.data import safety as safety_data
    from train_safety.data import tasks as task_data
    from train_safety.evaluation.items import helpfulness_specs

    prints: dict[str, Any] = {}
    if config.safety_data:
        prints["safety"] = safety_data.source_fingerprint(
            config.safety_data, config.safety_revision
        )
    prints["extra"] = [safety_data.source_fingerprint(e, None) for e in config.extra_safety_data]
    prints["helpfulness"] = [task_data.source_fingerprint(s) for s in helpfulness_specs(config)]
    return prints


def run_cell(
    folder: Path,
    name: str,
    sha: str,
    sft: SFTRunConfig | None,
    evaluation: EvalConfig | None,
    *,
    sft_sha: str | None = None,
    rescore_key: tuple[Any, ...] | None = None,
    force: bool = False,
    log: Any = log_progress,
) -> dict[str, Any]:
    """Train (if ``sft``) then evaluate (if ``evaluation``) into ``folder``; resumable by ``sha``.

    ``sha`` covers everything the cell computes, ``sft_sha`` the training alone: when only the
    evaluation changed, a finished fine-tune is kept and only the evaluation reruns. When only
    its scoring changed (judge, first_turn: ``evaluate.SCORING_FIELDS``), the saved replies are
    scored again and nothing is generated; ``rescore_key`` = the parts ``sha`` was made from
    besides the eval config, to check that.
    """
    done = folder / DONE
    if done.is_file() and not force:
        reused = _reuse_finished(folder, name, sha, evaluation, rescore_key, log)
        if reused is not None:
            return reused
    _prepare_folder(folder, name, sha, sft_sha, force, log)
    _write_json(
        folder / STARTED,
        {
            "name": name,
            "config_sha256": sha,
            "sft_sha256": sft_sha,
            "sft": config_to_dict(sft) if sft else None,
            "eval": config_to_dict(evaluation) if evaluation else None,
        },
    )
    record: dict[str, Any] = {"name": name, "config_sha256": sha}
    model_path = evaluation.model if evaluation else None
    if sft is not None:
        trained, model_path = _train_cell(folder, name, sft, evaluation, log)
        record |= trained
    if evaluation is not None:
        record |= _evaluate_cell(folder, name, evaluation, model_path, log)
    record["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    record["runner_version"] = RUNNER_VERSION
    _write_json(done, record)
    return record | {"reused": False}


def _reuse_finished(
    folder: Path,
    name: str,
    sha: str,
    evaluation: EvalConfig | None,
    rescore_key: tuple[Any, ...] | None,
    log: Any,
) -> dict[str, Any] | None:
    """The finished cell's record when its config is unchanged (or only its scoring changed
    and the saved replies were rescored); else None."""
    record = json.loads((folder / DONE).read_text(encoding="utf-8"))
    if record.get("config_sha256") == sha:
        log(f"{name}: finished earlier with this config (sha256 {sha[:12]}), reused")
        return record | {"reused": True}
    if evaluation is not None and rescore_key is not None:
        return _rescore_if_only_scoring_changed(
            folder, name, sha, record, evaluation, rescore_key, log
        )
    return None


def _prepare_folder(
    folder: Path, name: str, sha: str, sft_sha: str | None, force: bool, log: Any
) -> None:
    """Start over, keep the fine-tuned model (only the evaluation changed), or resume."""
    done = folder / DONE
    if folder.exists():
        started = folder / STARTED
        previous = json.loads(started.read_text("utf-8")) if started.is_file() else {}
        same_training = sft_sha is not None and previous.get("sft_sha256") == sft_sha
        if force or (not same_training and previous.get("config_sha256") != sha):
            reason = "--force" if force else "the config changed"
            log(f"{name}: {reason}; starting over")
            shutil.rmtree(folder)
        elif previous.get("config_sha256") != sha or done.is_file():
            log(f"{name}: the evaluation changed; keeping the fine-tuned model")
            done.unlink(missing_ok=True)
            shutil.rmtree(folder / "eval", ignore_errors=True)
            for cache in folder.glob(".eval.generations-cache.jsonl"):
                cache.unlink()  # replies of the old settings
        else:
            log(f"{name}: resuming an interrupted run")
    folder.mkdir(parents=True, exist_ok=True)


def _train_cell(
    folder: Path, name: str, sft: SFTRunConfig, evaluation: EvalConfig | None, log: Any
) -> tuple[dict[str, Any], str]:
    """Fine-tune into ``folder/model`` (unless already there); the record part and the model."""
    record: dict[str, Any] = {}
    model_dir = folder / "model"
    if (model_dir / "data_manifest.json").is_file():
        log(f"{name}: the fine-tuned model is already there, not training again")
        record |= json.loads((folder / "sft.json").read_text("utf-8"))
    else:
        log(f"{name}: fine-tuning")
        started_at = time.perf_counter()
        from train_safety.train.sft import run_sft

        run_sft(dataclasses.replace(sft, output_dir=str(model_dir), force=True))
        record["sft_seconds"] = round(time.perf_counter() - started_at, 1)
        _write_json(folder / "sft.json", {"sft_seconds": record["sft_seconds"]})
    manifest = json.loads((model_dir / "data_manifest.json").read_text("utf-8"))
    mix = {k: v for k, v in manifest.get("mix", {}).items() if k != "rows_sha256"}
    training = manifest.get("training", {})
    record |= {
        "mix": mix,
        "global_step": training.get("global_step"),
        "rows_trained": training.get("rows_trained"),
        "training_loss": training.get("training_loss"),
    }
    model_path = str(model_dir)
    if evaluation and evaluation.backend == "vllm" and (model_dir / "merged").is_dir():
        model_path = str(model_dir / "merged")  # vLLM takes a merged model, not an adapter
    return record, model_path


def _evaluate_cell(
    folder: Path, name: str, evaluation: EvalConfig, model_path: str | None, log: Any
) -> dict[str, Any]:
    log(f"{name}: evaluating {model_path}")
    started_at = time.perf_counter()
    from train_safety.evaluation.run import run_evaluation

    results = run_evaluation(
        dataclasses.replace(evaluation, model=model_path, out=str(folder / "eval"), force=True)
    )
    return {
        "eval_seconds": round(time.perf_counter() - started_at, 1),
        "generation_seconds": results["generation_seconds"],
        "prompts": results["prompts"],
    }


def run_ablation(
    config: AblationConfig, *, log: Any = log_progress, extra: dict | None = None
) -> dict:
    """Run (or resume) every condition of ``config``; write results and report; return results."""
    from train_safety.ablation.report import collect_results, write_results

    started_at = time.perf_counter()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    base_model = config.base_model or ""
    base_print: Any = {"base_model": base_model}
    stages: dict[str, Any] = {}
    alignment = alignment_run(config)
    if alignment is not None:
        sha = config_sha256(RUNNER_VERSION, base_print, alignment, sft_fingerprint(alignment))
        folder = out / "alignment"
        stages["alignment"] = run_cell(
            folder, "alignment", sha, alignment, None, sft_sha=sha, force=config.force, log=log
        )
        base_model, base_print = alignment_base(folder / "model"), {"alignment": sha}
    plan = plan_conditions(config, base_model)
    records: dict[str, dict[str, Any]] = {}
    for index, condition in enumerate(plan, 1):
        log(f"condition {index}/{len(plan)}: {condition.name} ({condition.label})")
        records[condition.name] = run_condition(condition, out, base_print, config.force, log)
    results = collect_results(
        config, plan, records, out, stages, time.perf_counter() - started_at, extra or {}
    )
    write_results(out, results)
    log(f"report: {out / 'report.md'}")
    return results


def alignment_base(model_dir: Path) -> str:
    """The model the conditions start from: a LoRA alignment's ``merged/`` model when saved
    (``merge_adapter: true``), so each condition trains a fresh adapter on a full model."""
    merged = model_dir / "merged"
    return str(merged if (merged / "config.json").is_file() else model_dir)


def run_condition(
    condition: Condition, out: Path, base_print: Any, force: bool, log: Any
) -> dict[str, Any]:
    sft_sha = None
    if condition.sft is not None:
        sft_sha = config_sha256(
            RUNNER_VERSION, base_print, condition.sft, sft_fingerprint(condition.sft)
        )
    fingerprint = eval_fingerprint(condition.eval)
    sha = config_sha256(RUNNER_VERSION, sft_sha or base_print, condition.eval, fingerprint)
    return run_cell(
        out / "conditions" / condition.name,
        condition.name,
        sha,
        condition.sft,
        condition.eval,
        sft_sha=sft_sha,
        rescore_key=(RUNNER_VERSION, sft_sha or base_print, fingerprint),
        force=force,
        log=log,
    )


def _rescore_if_only_scoring_changed(
    folder: Path,
    name: str,
    sha: str,
    record: dict[str, Any],
    evaluation: EvalConfig,
    rescore_key: tuple[Any, ...],
    log: Any,
) -> dict[str, Any] | None:
    """Rescore a finished cell's saved replies when its old config differs from ``evaluation``
    only in scoring fields; else None (the caller evaluates again)."""
    from train_safety.evaluation.config import SCORING_FIELDS
    from train_safety.evaluation.run import rescore_evaluation

    started = folder / STARTED
    if not started.is_file() or not (folder / "eval" / "generations.jsonl").is_file():
        return None
    previous = json.loads(started.read_text("utf-8"))
    old_eval = previous.get("eval")
    if not isinstance(old_eval, dict):
        return None
    # Rebuilding the old sha from the stored eval config and today's model/data parts proves
    # that the model, the data and every generation setting are what produced the saved replies.
    old_plain = {k: v for k, v in old_eval.items() if k not in RUNNER_CHOSEN_FIELDS}
    version, chain, fingerprint = rescore_key
    if config_sha256(version, chain, old_plain, fingerprint) != previous.get("config_sha256"):
        return None
    current = config_to_dict(evaluation)

    def generation_part(config: dict[str, Any]) -> dict[str, Any]:
        skip = (*SCORING_FIELDS, *RUNNER_CHOSEN_FIELDS)
        return {k: v for k, v in config.items() if k not in skip}

    if generation_part(old_plain) != generation_part(current):
        return None
    log(f"{name}: only the scoring changed; rescoring the saved replies")
    model_path = json.loads((folder / "eval" / "results.json").read_text("utf-8")).get("model")
    started_at = time.perf_counter()
    rescore_evaluation(
        dataclasses.replace(evaluation, model=model_path, out=str(folder / "eval"), force=True)
    )
    _write_json(started, previous | {"config_sha256": sha, "eval": current})
    record = record | {
        "config_sha256": sha,
        "rescored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rescore_seconds": round(time.perf_counter() - started_at, 1),
    }
    _write_json(folder / DONE, record)
    return record | {"reused": False}


def _write_json(path: Path, data: Any) -> None:
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", "utf-8")
    scratch.replace(path)
