"""Fine-tune a chat model on a task dataset mixed with safety data (TRL ``SFTTrainer``).

    python -m train_safety.sft --config train_safety/configs/llama3.1-8b-qlora.yaml [--flags]

YAML keys are the flag names with underscores; flags override the YAML; an unknown key exits 2.
The output folder holds the adapter (LoRA) or the model, the tokenizer, ``run_config.json`` (the
exact resolved config) and ``data_manifest.json`` (source fingerprints, mix counts, row hashes). It
is written to a temporary folder and renamed into place when training succeeds.

Python entry point: ``run_sft(SFTRunConfig(...)) -> Path``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trl import ModelConfig, SFTConfig

from builders.cli import cli_main, command_parser
from builders.errors import InputError
from builders.export.atomic import move_into_place
from builders.options import (
    EXISTING_FILE,
    LOCAL_OR_HUB,
    WRITABLE_DIR,
    add_dataclass_flags,
    check_options,
    check_paths,
    config_to_dict,
    flag_overrides,
    load_run_config,
    option,
)
from builders.schema import TASKS
from train_safety.data.safety import ALL_CONFIG
from train_safety.data.tasks import TASK_FORMATS
from train_safety.model_path import require_model_extra
from train_safety.train.trl_options import TRL_DEFAULT, with_trl_options


@dataclass(frozen=True)
class _SFTRunOptions:
    """Every knob of one SFT run; YAML key = field name = ``--flag-name``. The training options
    TRL already has (learning rate, batch size, max_length, LoRA, ...) come from TRL itself:
    see ``TRL_OPTIONS``."""

    model: str | None = option(
        None,
        help="local model folder, Hub id, or a named model (gemma3-270m)",
        metavar="PATH",
        required=True,
        path=LOCAL_OR_HUB,
    )
    output_dir: str = option(
        "runs/sft", help="where the result goes", metavar="DIR", path=WRITABLE_DIR
    )
    force: bool = option(False, help="replace an existing output_dir")
    # task data
    task: str | None = option(None, help="the downstream task format", choices=TASK_FORMATS)
    task_data: str | None = option(
        None, help="Hub id, folder, file, or the prefix of a line-aligned pair", metavar="PATH"
    )
    task_split: str | None = option(None, help="split (Hub/folder)", metavar="SPLIT")
    task_config: str | None = option(None, help="Hub config name", metavar="NAME")
    task_revision: str | None = option(None, help="Hub revision", metavar="REV")
    task_input_column: str | None = option(None, help="input column", metavar="COLUMN")
    task_target_column: str | None = option(None, help="target column", metavar="COLUMN")
    label_names: tuple[str, ...] = option(
        (), help="classification labels, for integer labels", metavar="NAME"
    )
    source_language: str = option("en", help="translation source", metavar="LANG")
    target_language: str = option("fr", help="translation target", metavar="LANG")
    task_offset: int = option(0, help="skip this many task rows", metavar="N", low=0)
    max_task_rows: int | None = option(None, help="use at most N rows", metavar="N", low=1)
    # safety data
    safety_data: str | None = option(
        None, help="build folder or Hub repo", metavar="DIR", path=LOCAL_OR_HUB
    )
    safety_revision: str | None = option(None, help="Hub revision (tag)", metavar="REV")
    safety_configs: tuple[str, ...] = option(
        ("all",),
        help="all, chat or task formats",
        metavar="CONFIG",
        choices=(ALL_CONFIG, *TASKS),
        nonempty=True,
    )
    safety_split: str = option("train", help="split of the safety data", metavar="SPLIT")
    safety_fraction: float | None = option(
        None,
        help="share of safety rows in the final mix",
        metavar="F",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    )
    safety_rows: int | None = option(None, help="or: this many safety rows", metavar="N", low=0)
    seed: int = option(0, help="sampling, shuffling and training seed", metavar="INT")
    # model and adapter
    chat_template: str | None = option(
        None,
        help="a .jinja file to use instead of the model's template",
        metavar="FILE",
        path=EXISTING_FILE,
    )
    loss_mask: str = option(
        "auto",
        help="which tokens carry the loss (auto: from the chat template)",
        choices=("auto", "assistant", "completion"),
    )
    use_lora: bool = option(True, help="LoRA adapter (else full fine-tune)")
    merge_adapter: bool = option(False, help="save the merged model too")
    sft_args: dict[str, Any] = option(
        default_factory=dict, help="extra trl.SFTConfig arguments (YAML only)"
    )

    def __post_init__(self) -> None:
        check_options(self)
        if not self.task_data and not self.safety_data:
            raise InputError("need task_data, safety_data or both", field="task_data")
        if self.task_data and self.task not in TASK_FORMATS:
            raise InputError(f"task must be one of {' | '.join(TASK_FORMATS)}", field="task")
        both = self.safety_data and self.task_data
        if both and (self.safety_fraction is None) == (self.safety_rows is None):
            raise InputError(
                "set exactly one of safety_fraction and safety_rows", field="safety_fraction"
            )


# The options TRL already declares, by the TRL class that declares them, with this project's
# default where it differs from TRL's (TRL_DEFAULT: TRL's own).
SFT_CONFIG_OPTIONS: dict[str, Any] = {
    "learning_rate": 2e-4,
    "num_train_epochs": 1.0,
    "max_steps": TRL_DEFAULT,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": TRL_DEFAULT,
    "max_length": TRL_DEFAULT,
    "warmup_steps": 0.0,
    "lr_scheduler_type": TRL_DEFAULT,
    "bf16": False,
    "gradient_checkpointing": False,
    "logging_steps": TRL_DEFAULT,
    "use_cpu": TRL_DEFAULT,
}
MODEL_CONFIG_OPTIONS: dict[str, Any] = {
    "dtype": "auto",
    "lora_r": TRL_DEFAULT,
    "lora_alpha": TRL_DEFAULT,
    "lora_dropout": TRL_DEFAULT,
    "lora_target_modules": ("all-linear",),
    "load_in_4bit": TRL_DEFAULT,
}
TRL_OPTIONS = {SFTConfig: SFT_CONFIG_OPTIONS, ModelConfig: MODEL_CONFIG_OPTIONS}
# Ranges TRL / transformers / PEFT check only once the model is loaded (or never).
POSITIVE = {"low": 0, "low_open": True}
AT_LEAST_ONE = {"low": 1}
TRL_CONSTRAINTS: dict[str, dict[str, Any]] = {
    "learning_rate": POSITIVE,
    "num_train_epochs": POSITIVE,
    "max_steps": {"low": -1},  # -1 (or 0): train num_train_epochs instead
    "per_device_train_batch_size": AT_LEAST_ONE,
    "gradient_accumulation_steps": AT_LEAST_ONE,
    "max_length": AT_LEAST_ONE,
    "warmup_steps": {"low": 0},
    "logging_steps": POSITIVE,
    "lora_r": AT_LEAST_ONE,
    "lora_alpha": POSITIVE,
    "lora_dropout": {"low": 0, "high": 1, "high_open": True},
    "lora_target_modules": {"nonempty": True},
}
SFTRunConfig = with_trl_options(_SFTRunOptions, "SFTRunConfig", TRL_OPTIONS, TRL_CONSTRAINTS)


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.sft", __doc__)
    parser.add_argument(
        "--config", default=None, metavar="FILE", help="YAML file; flags override its keys"
    )
    add_dataclass_flags(parser, SFTRunConfig)
    return parser


# ---------------------------------------------------------------- data


def prepare_mixture(config: SFTRunConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The training rows (shuffled mix) and the data manifest describing them."""
    from train_safety.data import safety as safety_data
    from train_safety.data import tasks as task_data
    from train_safety.data.mixing import mix, rows_sha256

    task_rows: list[dict[str, Any]] = []
    manifest: dict[str, Any] = {}
    if config.task_data:
        spec = task_data_spec(config)
        task_rows = [
            {"messages": example.messages(), "task": example.task}
            for example in task_data.load_task_examples(spec)
        ]
        manifest["task_data"] = task_data.source_fingerprint(spec) | {
            "prompts_version": task_data.task_prompts()["version"],
            "rows_sha256": rows_sha256(task_rows),
        }
    safety: list[dict[str, Any]] = []
    if config.safety_data:
        safety = safety_data.load_safety_rows(
            config.safety_data,
            config.safety_configs,
            split=config.safety_split,
            revision=config.safety_revision,
        )
        manifest["safety_data"] = safety_data.source_fingerprint(
            config.safety_data, config.safety_revision
        ) | {"configs": list(config.safety_configs), "split": config.safety_split}
    if config.task_data and config.safety_data:
        kwargs = {"safety_fraction": config.safety_fraction, "safety_count": config.safety_rows}
    else:  # one source only: use it whole (or the requested count of safety rows)
        count = config.safety_rows if config.safety_rows is not None else len(safety)
        kwargs = {"safety_count": count}
    rows, report = mix(task_rows, safety, seed=config.seed, **kwargs)
    manifest["mix"] = {
        "task_rows": report.task_rows,
        "safety_rows": report.safety_rows,
        "safety_available": report.safety_available,
        "safety_fraction": report.safety_fraction,
        "safety_by_config": report.safety_by_config,
        "safety_by_kind": report.safety_by_kind,
        "rows_sha256": rows_sha256(rows),
    }
    return rows, manifest


def task_data_spec(config: SFTRunConfig):
    from train_safety.data.tasks import TaskDataSpec

    return TaskDataSpec(
        task=config.task or "",
        path=config.task_data or "",
        split=config.task_split,
        name=config.task_config,
        revision=config.task_revision,
        input_column=config.task_input_column,
        target_column=config.task_target_column,
        label_names=config.label_names,
        source_language=config.source_language,
        target_language=config.target_language,
        offset=config.task_offset,
        max_rows=config.max_task_rows,
    )


# ---------------------------------------------------------------- model and trainer


def load_tokenizer(config: SFTRunConfig) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model)
    except OSError as error:  # no such folder, not on the Hub, offline, no tokenizer files
        raise InputError(
            f"cannot load the model's tokenizer: {str(error)[:300]}",
            file=config.model,
            field="model",
        ) from None
    if config.chat_template:
        tokenizer.chat_template = Path(config.chat_template).read_text(encoding="utf-8")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _load_model(config: SFTRunConfig) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    if config.dtype != "auto":
        kwargs["dtype"] = getattr(torch, config.dtype)
    elif not config.use_cpu and torch.cuda.is_available():
        kwargs["dtype"] = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if config.load_in_4bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as error:
            raise InputError(
                "load_in_4bit needs bitsandbytes (pip install bitsandbytes) and a CUDA GPU",
                field="load_in_4bit",
            ) from error
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs.get("dtype", torch.bfloat16),
        )
    return AutoModelForCausalLM.from_pretrained(config.model, **kwargs)


def _peft_config(config: SFTRunConfig) -> Any:
    if not config.use_lora:
        if config.load_in_4bit:
            raise InputError("4-bit training needs use_lora", field="load_in_4bit")
        return None
    from peft import LoraConfig

    targets = list(config.lora_target_modules)
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets[0] if targets == ["all-linear"] else targets,
        task_type="CAUSAL_LM",
    )


def build_trainer(config: SFTRunConfig, output_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """A ready ``trl.SFTTrainer`` and the data manifest; nothing trained or saved yet."""
    import datasets
    from trl import SFTTrainer

    from train_safety.data.chat_format import (
        COMPLETION_MASK,
        to_prompt_completion,
        training_template,
    )
    from train_safety.model_path import resolve_model

    rows, manifest = prepare_mixture(config)
    if not rows:
        raise InputError("the training mix is empty", field="task_data")
    model_path = resolve_model(config.model)
    if model_path != config.model:  # a named model (e.g. gemma3-270m): record where it came from
        manifest["model"] = {"spec": config.model, "path": model_path}
        config = dataclasses.replace(config, model=model_path)
    tokenizer = load_tokenizer(config)
    route, _ = training_template(tokenizer)
    if config.loss_mask != "auto":
        route = config.loss_mask
    if route == COMPLETION_MASK:
        records = [to_prompt_completion(row["messages"]) for row in rows]
    else:
        records = [{"messages": row["messages"]} for row in rows]
    manifest["loss_mask"] = route
    dataset = datasets.Dataset.from_list(records)
    arguments = SFTConfig(
        output_dir=str(output_dir),
        **{name: getattr(config, name) for name in SFT_CONFIG_OPTIONS},
        assistant_only_loss=route != COMPLETION_MASK,
        completion_only_loss=route == COMPLETION_MASK,
        seed=config.seed,
        save_strategy="no",
        report_to=[],
        **config.sft_args,
    )
    trainer = SFTTrainer(
        model=_load_model(config),
        args=arguments,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft_config(config),
    )
    return trainer, manifest


def run_sft(config: SFTRunConfig) -> Path:
    """Train, then save adapter/model, tokenizer, resolved config and data manifest.

    Under ``accelerate launch`` (or ``torchrun``) every process trains its share of each batch
    and only the main process (global rank 0) writes the output folder.
    """
    out = Path(config.output_dir)
    check_paths(config)  # before any work: an output_dir that is a file, inputs that are missing
    check_output_dir(out, config.force)
    require_model_extra(config.model)
    main_process = is_main_process()
    if main_process:
        out.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    else:  # the result is rank 0's to write; the trainer still needs a folder of its own
        scratch = Path(tempfile.mkdtemp(prefix="mts-sft-rank-"))
    final = scratch / "final"
    try:
        trainer, manifest = build_trainer(config, scratch / "trainer")
        if trainer.accelerator.is_main_process != main_process:
            raise RuntimeError(
                f"process {trainer.accelerator.process_index} disagrees with the launcher's "
                "rank variables on which process writes the output"
            )
        result = trainer.train()
        trainer.save_model(str(final))  # every process takes part; the Trainer writes on rank 0
        trainer.accelerator.wait_for_everyone()
        if main_process:
            _write_result(config, trainer, result, manifest, final, out)
    except InputError as error:
        if main_process and final.is_dir():  # a trained model is never deleted by a later error
            raise InputError(
                f"{error.detail}; the trained model is kept in {final}",
                file=error.file,
                field=error.field,
            ) from None
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    except BaseException:
        if main_process and final.is_dir():
            print(f"the trained model is kept in {final}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def check_output_dir(out: Path, force: bool) -> None:
    """``output_dir`` may be replaced only with ``force``, and only if it is a folder."""
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder", file=str(out), field="output_dir")
    if out.exists() and not force:
        raise InputError(
            "output folder exists (use --force to replace it)", file=str(out), field="output_dir"
        )


# Set by torchrun / accelerate launch (RANK) or by MPI launchers, before any process group exists.
_RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")


def is_main_process() -> bool:
    """Whether this process has global rank 0 (always, when not launched distributed)."""
    return next((int(os.environ[v]) for v in _RANK_VARIABLES if v in os.environ), 0) == 0


def _write_result(config, trainer, result, manifest, final: Path, out: Path) -> None:
    trainer.processing_class.save_pretrained(str(final))
    if config.use_lora and config.merge_adapter:
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(str(final / "merged"))
        trainer.processing_class.save_pretrained(str(final / "merged"))
    manifest["training"] = {
        # TRL drops rows whose prompt alone fills max_length: say how many were trained on
        "rows_trained": len(trainer.train_dataset),
        "processes": trainer.accelerator.num_processes,
        "global_step": result.global_step,
        "training_loss": result.training_loss,
        "log_history": trainer.state.log_history,
    }
    _write_json(final / "run_config.json", config_to_dict(config))
    _write_json(final / "data_manifest.json", manifest)
    # Re-checked under the lock: another run may have written output_dir while this one trained.
    move_into_place(final, out, lambda: check_output_dir(out, config.force))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)

    def run() -> int:
        config = load_run_config(SFTRunConfig, args.config, flag_overrides(args, SFTRunConfig))
        out = run_sft(config)
        if is_main_process():
            print(out)
        return 0

    return cli_main(run)


if __name__ == "__main__":
    raise SystemExit(main())
