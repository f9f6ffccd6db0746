"""The CPU "model organism" behind ``python -m train_safety.ablate --demo``.

Everything comes from the real toolkit, offline:

1. the default build (bundled seeds) supplies safety data and held-out harmful prompts;
2. derived data folders, each turn cut to a few hundred characters so a tiny model can hold it:
   the *test* split alone for evaluation (its seeds never reach training), and from the *train*
   split: the safety rows, the chat-centric alignment mix, the downstream task rows;
3. a byte-level BPE tokenizer trained on train-split text only, and a Llama with random weights;
4. stage A, "alignment" (a first ``run_sft``): benign rows of every task format plus refusals
   for harmful *chat* requests only, as typical alignment data looks;
5. the ablation grid from there (``train_safety.ablation.runner``): base, task only, task + chat-only
   safety, task + multitask safety with the same row budget.

The recipe (sizes, steps, learning rates, row budget) is a data file,
``train_safety/configs/demo-organism.yaml``. It was chosen on the train split only; nothing is
tuned on the test split. The numbers are not those of a real LLM, and the report says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.options import coerce_value, config_to_dict, read_yaml_mapping
from train_safety.ablation.config import AblationConfig, load_ablation_config
from train_safety.ablation.runner import log_progress, run_ablation
from train_safety.data.derived_builds import write_derived_build

RECIPE_FILE = "configs/demo-organism.yaml"
# The tiny model's template without line breaks: in a 96-128 token window every token counts.
ORGANISM_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}<|assistant|>{% generation %}"
    "{{ message['content'] }}<|end|>{% endgeneration %}"
    "{% else %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
BENIGN, HARMFUL = "benign", "harmful"


@dataclass(frozen=True)
class OrganismRecipe:
    """How the organism is made; the grid itself is the ``ablation`` mapping (AblationConfig)."""

    seed: int = 0
    max_chars: int = 300  # every user turn is cut to this many characters
    reply_chars: int = 120  # assistant turns: the opening decides refuse-or-comply
    vocab_size: int = 2048
    hidden_size: int = 128
    layers: int = 2
    intermediate_size: int = 384
    heads: int = 4
    kv_heads: int = 4
    tie_word_embeddings: bool = True
    downstream_tasks: tuple[str, ...] = ("translation",)
    task_rows: int | None = 75  # the same number of task rows for every downstream task
    helpfulness_tasks: tuple[str, ...] = ("translation", "summarization", "classification")
    safety_kinds: tuple[str, ...] = (HARMFUL,)
    ablation: dict[str, Any] = field(default_factory=dict)


def load_recipe(path: str | None = None) -> OrganismRecipe:
    if path:
        data, origin = read_yaml_mapping(path), path
    else:
        text = resources.files("train_safety").joinpath(RECIPE_FILE).read_text("utf-8")
        import yaml

        data, origin = yaml.safe_load(text), RECIPE_FILE
    names = [f.name for f in dataclasses.fields(OrganismRecipe)]
    values = {}
    for key, value in data.items():
        if key not in names:
            raise InputError("unknown recipe key", file=origin, field=str(key))
        values[key] = coerce_value(OrganismRecipe, key, value, origin)
    return OrganismRecipe(**values)


def recipe_sha256(recipe: OrganismRecipe) -> str:
    text = json.dumps(config_to_dict(recipe), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- data


def shorten(messages: list[dict[str, str]], max_chars: int, reply_chars: int) -> list[dict]:
    return [
        {
            "role": m["role"],
            "content": m["content"][: reply_chars if m["role"] == "assistant" else max_chars],
        }
        for m in messages
    ]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def prepare_organism(folder: Path, recipe: OrganismRecipe, log: Any) -> dict[str, str]:
    """Build, derive the data folders, make the tokenizer and the random model. Idempotent."""
    sha = recipe_sha256(recipe)
    marker = folder / "prepared.json"
    if marker.is_file():
        prepared = json.loads(marker.read_text("utf-8"))
        # derived folders written before they had a card are not loadable: prepare again
        carded = (folder / "data" / "eval-build" / "README.md").is_file()
        if prepared.get("recipe_sha256") == sha and carded:
            log(f"organism data and model from an earlier run reused ({folder})")
            return prepared["paths"]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rows, tokenizer_texts = _organism_rows(folder, recipe, log)
    data = folder / "data"
    _write_organism_data(data, rows, recipe)
    parameters = _make_tiny_model(folder / "tiny-model", tokenizer_texts, recipe, log)
    paths = {
        "data": str(data),
        "model": str(folder / "tiny-model"),
        "eval_build": str(data / "eval-build"),
        "safety_build": str(data / "safety-build"),
        "alignment_build": str(data / "alignment-build"),
        "tasks": str(data / "tasks"),
        "parameters": str(parameters),
    }
    marker.write_text(json.dumps({"recipe_sha256": sha, "paths": paths}, indent=2) + "\n")
    return paths


def _organism_rows(
    folder: Path, recipe: OrganismRecipe, log: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """The default build's rows with turns cut, and the train-split text for the tokenizer."""
    from builders.build import build
    from builders.config import BuildConfig

    log("building the default dataset (bundled seeds, template backend)")
    result = build(BuildConfig(out=str(folder / "build"), seed=recipe.seed))
    rows = [dict(r) for r in result.rows]
    # tokenizer text: train-split turns, each cut to max_chars (replies not cut harder here)
    tokenizer_texts = [
        m["content"][: recipe.max_chars]
        for r in rows
        if r["split"] == "train"
        for m in r["messages"]
    ]
    for row in rows:
        row["messages"] = shorten(list(row["messages"]), recipe.max_chars, recipe.reply_chars)
    return rows, tokenizer_texts


def _write_organism_data(data: Path, rows: list[dict[str, Any]], recipe: OrganismRecipe) -> None:
    """Eval, safety and alignment folders laid out like builds, and the downstream task files."""
    from builders.schema import TASKS
    from train_safety.evaluation.overlap import contained_inputs, user_turn

    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    by_task = {t: [r for r in train if r["task"] == t] for t in TASKS}

    def configs(selected: list[dict]) -> dict[str, list[dict]]:
        grouped = {t: [r for r in selected if r["task"] == t] for t in TASKS}
        return {"all": selected} | {t: g for t, g in grouped.items() if g}

    write_derived_build(data / "eval-build", configs(test), "test", "test split, turns cut")
    safety = [r for r in train if r["kind"] in recipe.safety_kinds]
    write_derived_build(
        data / "safety-build", configs(safety), "train", f"train split, kinds {recipe.safety_kinds}"
    )
    alignment = [r for r in train if r["kind"] == BENIGN or r["task"] == "chat"]
    write_derived_build(
        data / "alignment-build",
        {"all": alignment},
        "train",
        "train split: benign rows of every format + harmful chat rows (refusals)",
    )
    # Cut turns make some test prompts identical to training ones (a long wrapper filling the
    # first max_chars): such rows are no held-out helpfulness items, and evaluate refuses them.
    trained = [(r["id"], user_turn(r)) for r in alignment if r["kind"] == BENIGN]
    for task in {*recipe.downstream_tasks, *recipe.helpfulness_tasks}:
        benign_train = [{"messages": r["messages"]} for r in by_task[task] if r["kind"] == BENIGN]
        candidates = [r for r in test if r["task"] == task and r["kind"] == BENIGN]
        seen = contained_inputs([user_turn(r) for r in candidates], trained)
        benign_test = [
            {"messages": r["messages"]} for i, r in enumerate(candidates) if i not in seen
        ]
        _write_jsonl(data / "tasks" / f"{task}-train.jsonl", benign_train)
        _write_jsonl(data / "tasks" / f"{task}-test.jsonl", benign_test)


def _make_tiny_model(
    out: Path, tokenizer_texts: list[str], recipe: OrganismRecipe, log: Any
) -> int:
    """Train the tokenizer, initialise the random Llama, save both to ``out``; its parameters."""
    log("training the tokenizer on train-split text and initialising the tiny model")
    from train_safety.train.tiny_model import build_model, build_tokenizer

    tokenizer = build_tokenizer(
        tokenizer_texts, vocab_size=recipe.vocab_size, chat_template=ORGANISM_CHAT_TEMPLATE
    )
    model = build_model(
        tokenizer,
        hidden_size=recipe.hidden_size,
        layers=recipe.layers,
        seed=recipe.seed,
        intermediate_size=recipe.intermediate_size,
        heads=recipe.heads,
        kv_heads=recipe.kv_heads,
        tie_word_embeddings=recipe.tie_word_embeddings,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- the grid


def demo_config(out: Path, recipe: OrganismRecipe, paths: dict[str, str], force: bool):
    """The AblationConfig of the demo: the recipe's grid with the organism's paths filled in."""
    tasks_dir = Path(paths["tasks"])
    grid = dict(recipe.ablation)
    grid["tasks"] = {
        task: {
            "task": task,
            "task_data": str(tasks_dir / f"{task}-train.jsonl"),
            "max_task_rows": recipe.task_rows,
        }
        for task in recipe.downstream_tasks
    }
    grid["eval"] = dict(grid.get("eval") or {}) | {
        "safety_data": paths["eval_build"],
        "safety_split": "test",
        "helpfulness": [
            {"task": task, "path": str(tasks_dir / f"{task}-test.jsonl")}
            for task in recipe.helpfulness_tasks
        ],
    }
    grid["alignment"] = dict(grid.get("alignment") or {}) | {
        "safety_data": paths["alignment_build"],
        "safety_configs": ["all"],
    }
    grid |= {
        "base_model": paths["model"],
        "safety_data": paths["safety_build"],
        "out": str(out),
        "organism": True,
    }
    grid.setdefault("title", "Safety-data ablation on a CPU model organism")
    scratch = out / ".demo-grid.yaml"
    out.mkdir(parents=True, exist_ok=True)
    import yaml

    scratch.write_text(yaml.safe_dump(grid, sort_keys=False, allow_unicode=True), "utf-8")
    config = load_ablation_config(str(scratch), {"force": force} if force else {})
    scratch.replace(out / "demo-grid.yaml")  # the exact grid, for the record
    return config


def run_demo(
    out: str | Path, recipe_file: str | None = None, force: bool = False, log: Any = None
) -> dict[str, Any]:
    log = log or log_progress
    started = time.perf_counter()
    out = Path(out)
    recipe = load_recipe(recipe_file)
    paths = prepare_organism(out / "organism", recipe, log)
    config: AblationConfig = demo_config(out, recipe, paths, force)
    prepared_seconds = time.perf_counter() - started
    results = run_ablation(
        config,
        log=log,
        extra={
            "recipe": config_to_dict(recipe),
            "organism_parameters": int(paths["parameters"]),
            "preparation_seconds": round(prepared_seconds, 1),
            "recipe_note": _recipe_note(recipe, paths),
        },
    )
    return results


def _recipe_note(recipe: OrganismRecipe, paths: dict[str, str]) -> str:
    return (
        f"Organism: a {recipe.layers}-layer Llama (hidden {recipe.hidden_size}, "
        f"{int(paths['parameters']):,} parameters, byte-level BPE vocabulary {recipe.vocab_size}) "
        "trained from scratch: stage A on benign rows of every format plus refusals of harmful "
        "chat rows (train split), then each condition fine-tunes stage A's weights. Turns are cut "
        f"to {recipe.max_chars} characters ({recipe.reply_chars} for replies). Harmful prompts "
        "and benign prompts come from the build's test split only (seeds never trained on). "
        "At this size, generated helpfulness sits near the floor (a few chrF points, near-zero "
        "accuracy): the helpfulness side of finding 4 is a weak check here, and over-refusal of "
        "benign prompts is the clearer cost signal."
    )
