"""Named public *benign* task data: inputs whose reference output becomes the helpful answer.

Like the harmful presets (``builders.seeds.presets``), each loads from the Hugging Face Hub with
``datasets.load_dataset`` by default, or, given ``NAME=PATH``, from a local copy of its original
file. Every row becomes a benign seed of one task format in the contract the task planners read:
``Seed.task``, ``prompt`` (the task input), ``answer`` (the reference output) and ``extra``
(``translations`` for translation, ``options`` + ``label`` for classification, ``tests`` for
code, every reference summary as ``references``).

Which rows a preset reads is chosen to stay clear of the helpfulness evaluation sets that
``train_safety.evaluate`` scores (its ``--helpfulness`` files): MBPP's train + validation task ids
(never its test ids 11-510 or prompt ids 1-10), DialogSum's and SciTLDR's train splits, Multi30k's
train split on the Hub (locally: whichever file is given, e.g. ``test_2016_flickr`` while
evaluation uses ``test_2017_flickr``), SST-2's train split. HumanEval (test split only) and
Financial PhraseBank (no split) cannot be kept apart by split: ``evaluate`` refuses to score a
helpfulness item whose input a build's training rows contain.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import BENIGN, Seed
from builders.seeds.presets import Preset, _from_hub, _text, convert_rows
from builders.seeds.source import SeedSource, file_provenance
from builders.seeds.tables import Table
from builders.seeds.task_tables import read_any_table, read_line_aligned

Row = dict[str, Any]
# A converter returns the row's Seed, or the reason (a short snake_case word) it is skipped.
Converter = Callable[[Row, "BenignPreset"], "Seed | str"]

SENTIMENTS = ("positive", "negative", "neutral")
MULTI30K_TARGETS = ("fr", "de", "cs")


@dataclass(frozen=True, kw_only=True)
class BenignPreset(Preset):
    """One public benign task set: a :class:`Preset` (what ``_from_hub`` reads) whose rows become
    benign inputs of one ``task`` format.

    ``columns`` are the original columns the converter may read (anything else is dropped as
    soon as it is read); ``split`` may join splits (``train+validation``); ``read_local`` reads
    the original file (or files) given as ``NAME=PATH``.
    """

    task: str
    convert: Converter  # type: ignore[assignment]  # takes the benign preset
    evaluation_note: str
    read_local: Callable[[Path], tuple[Table, list[dict[str, str]]]] | None = None


# --- cell helpers ------------------------------------------------------------------------------


def _texts(row: Row, column: str) -> list[str]:
    """A list cell (or a JSON / repr list in text) as a list of non-empty stripped texts."""
    value = row.get(column)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            value = [value]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [" ".join(str(v).split()) for v in value if v is not None and str(v).strip()]


_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}]|'s\b|'re\b|'ve\b|'ll\b|'d\b|'m\b|n't\b)")
_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def detokenize(text: str) -> str:
    """Undo PTB-style spacing ("sales , up 5 %" → "sales, up 5%") in pre-tokenized corpora."""
    text = " ".join(text.split())
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))


def _seed(preset: BenignPreset, prompt: str, answer: str | None, extra: dict[str, Any]) -> Seed:
    return Seed(
        prompt=prompt,
        category=BENIGN,
        source=preset.name,
        license=preset.license,
        kind=BENIGN,
        answer=answer,
        task=preset.task,
        extra=extra,
    )


def _parses(code: str) -> ast.Module | None:
    with warnings.catch_warnings():  # old solutions hold invalid escapes ("\d"): still Python
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return ast.parse(code)
        except SyntaxError:
            return None


def _python_code(code: str) -> str | None:
    """LF newlines, no trailing spaces, leading tabs as 4 spaces; None when it does not parse."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cleaned = []
    for line in lines:
        stripped = line.lstrip("\t")
        cleaned.append("    " * (len(line) - len(stripped)) + stripped.rstrip())
    text = "\n".join(cleaned).strip("\n")
    for candidate in (text, code.strip()):
        if _parses(candidate) is not None:
            return candidate
    return None


_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")


def _entry_point(code: str, tests: list[str]) -> str | None:
    """The first function the tests call that the code defines."""
    tree = _parses(code)
    defined = {
        node.name
        for node in (ast.walk(tree) if tree is not None else ())
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for test in tests:
        for name in _CALL.findall(test):
            if name in defined:
                return name
    return None


# --- code_generation ---------------------------------------------------------------------------

_MBPP_TEST_IDS = range(11, 511)  # MBPP's test split; ids 1-10 are its few-shot prompts


def _mbpp(row: Row, preset: BenignPreset) -> Seed | str:
    task_id = int(float(_text(row, "task_id") or 0))
    if task_id in _MBPP_TEST_IDS:
        return "test_split"
    if task_id < 11:
        return "prompt_split"
    instruction = _text(row, "text") or _text(row, "prompt")
    if not instruction:
        return "empty_prompt"
    code = _python_code(str(row.get("code") or ""))
    if not code:
        return "code_does_not_parse"
    tests = [t.strip() for t in row.get("test_list") or [] if str(t).strip()]
    setup = "\n".join([*(row.get("test_imports") or []), _text(row, "test_setup_code")]).strip()
    entry_point = _entry_point(code, tests)
    extra: dict[str, Any] = {
        "language": "python",
        "tests": tests,
        "test_setup_code": setup,
        "source_id": f"mbpp/{task_id}",
    }
    if entry_point:
        extra["entry_point"] = entry_point
    return _seed(preset, instruction, code, extra)


def _humaneval(row: Row, preset: BenignPreset) -> Seed | str:
    signature = str(row.get("prompt") or "").replace("\r\n", "\n").strip("\n")
    entry_point = _text(row, "entry_point")
    if not signature.strip() or not entry_point:
        return "empty_prompt"
    solution = _python_code(signature + "\n" + str(row.get("canonical_solution") or ""))
    if not solution:
        return "code_does_not_parse"
    instruction = (
        f"Complete the Python function `{entry_point}` so that it does what its docstring "
        f"says.\n\n```python\n{signature}\n```"
    )
    extra = {
        "language": "python",
        "entry_point": entry_point,
        "tests": [f"{str(row.get('test') or '').strip()}\n\ncheck({entry_point})"],
        "source_id": _text(row, "task_id"),
    }
    return _seed(preset, instruction, solution, extra)


# --- summarization -----------------------------------------------------------------------------


def _dialogsum(row: Row, preset: BenignPreset) -> Seed | str:
    dialogue = _text(row, "dialogue")
    summaries = [
        s for s in (_text(row, c) for c in ("summary", "summary1", "summary2", "summary3")) if s
    ]
    if not dialogue:
        return "empty_prompt"
    if not summaries:
        return "no_summary"
    extra = {
        "references": summaries,
        "topic": _text(row, "topic") or _text(row, "topic1"),
        "source_id": _text(row, "fname") or _text(row, "id"),
    }
    return _seed(preset, dialogue, summaries[0], extra)


def _scitldr(row: Row, preset: BenignPreset) -> Seed | str:
    abstract = " ".join(_texts(row, "source"))
    targets = _texts(row, "target")
    if not abstract:
        return "empty_prompt"
    if not targets:
        return "no_summary"
    extra = {"references": targets, "source_id": _text(row, "paper_id")}
    return _seed(preset, abstract, targets[0], extra)


# --- translation -------------------------------------------------------------------------------


def _multi30k(row: Row, preset: BenignPreset) -> Seed | str:
    english = " ".join(_text(row, "en").split())
    if not english:
        return "empty_prompt"
    translations = {
        code: " ".join(_text(row, code).split()) for code in MULTI30K_TARGETS if _text(row, code)
    }
    if not translations:
        return "no_translation"
    return _seed(preset, english, None, {"translations": translations})


# --- classification ----------------------------------------------------------------------------

# takala/financial_phrasebank's ClassLabel order.
_FPB_HUB_LABELS = ("negative", "neutral", "positive")


def _label(value: Any, names: tuple[str, ...]) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text.lstrip("-").isdigit():
        index = int(text)
        return names[index] if 0 <= index < len(names) else ""
    return text if text in names else ""


def _financial_phrasebank(row: Row, preset: BenignPreset) -> Seed | str:
    sentence = detokenize(_text(row, "sentence"))
    label = _label(row.get("label"), _FPB_HUB_LABELS)
    if not sentence:
        return "empty_prompt"
    if not label:
        return "unknown_label"
    return _seed(preset, sentence, label, {"options": list(SENTIMENTS), "label": label})


_SST2_LABELS = ("negative", "positive")


def _sst2(row: Row, preset: BenignPreset) -> Seed | str:
    sentence = detokenize(_text(row, "sentence"))
    label = _label(row.get("label"), _SST2_LABELS)
    if not sentence:
        return "empty_prompt"
    if not label:  # the GLUE test split has label -1
        return "unknown_label"
    options = ["positive", "negative"]
    return _seed(preset, sentence, label, {"options": options, "label": label})


# --- chat --------------------------------------------------------------------------------------


def _alpaca(row: Row, preset: BenignPreset) -> Seed | str:
    instruction, extra_input = _text(row, "instruction"), _text(row, "input")
    if not instruction:
        return "empty_prompt"
    # A row without an output stays a request without a reference answer: an LLM backend
    # answers it, the template backend leaves it out (reframe: benign_seed_without_reference).
    output = _text(row, "output") or None
    prompt = f"{instruction}\n\n{extra_input}" if extra_input else instruction
    return _seed(preset, prompt, output, {})


def _alpaca_table(path: Path) -> tuple[Table, list[dict[str, str]]]:
    """Alpaca's JSON list; also Safety-Tuned LLaMAs' ``{"instructions": [...]}`` evaluation
    files, whose rows have no output (requests without a reference answer)."""
    instructions = _instruction_list(path)
    if instructions is None:
        return _table(path)
    provenance = file_provenance(path)
    rows = [{"instruction": text} for text in instructions]
    numbers = list(range(1, len(rows) + 1))
    return Table(str(path), ("instruction",), rows, numbers, provenance["sha256"]), [provenance]


def _instruction_list(path: Path) -> list[str] | None:
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # read_table says what is wrong with it
    if isinstance(document, dict) and isinstance(document.get("instructions"), list):
        return [str(text) for text in document["instructions"]]
    return None


def _table(path: Path) -> tuple[Table, list[dict[str, str]]]:
    table = read_any_table(path)
    return table, [table.provenance()]


def _multi30k_files(path: Path) -> tuple[Table, list[dict[str, str]]]:
    if path.is_file() and path.suffix.lower() in (".csv", ".json", ".jsonl", ".parquet", ".tsv"):
        return _table(path)
    return read_line_aligned(path, "en", MULTI30K_TARGETS)


BENIGN_PRESETS: dict[str, BenignPreset] = {
    preset.name: preset
    for preset in (
        BenignPreset(
            name="mbpp",
            task="code_generation",
            hub_id="google-research-datasets/mbpp",
            configs=("full",),
            split="train+validation",
            license="cc-by-4.0",
            file_name="mbpp.jsonl (or sanitized-mbpp.json)",
            prompt_column="text",
            columns=(
                "task_id",
                "text",
                "prompt",
                "code",
                "test_list",
                "test_setup_code",
                "test_imports",
            ),
            convert=_mbpp,
            evaluation_note="task ids 511-974 (train + validation); test ids 11-510 and prompt "
            "ids 1-10 are skipped",
            read_local=_table,
        ),
        BenignPreset(
            name="humaneval",
            task="code_generation",
            hub_id="openai/openai_humaneval",
            split="test",
            license="mit",
            file_name="HumanEval.jsonl",
            prompt_column="prompt",
            columns=("task_id", "prompt", "canonical_solution", "test", "entry_point"),
            convert=_humaneval,
            evaluation_note="all 164 problems (HumanEval has only a test split): do not score "
            "HumanEval pass@1 after training on it (evaluate refuses)",
            read_local=_table,
        ),
        BenignPreset(
            name="dialogsum",
            task="summarization",
            hub_id="knkarthick/dialogsum",
            split="train",
            license="cc-by-nc-sa-4.0",
            file_name="dialogsum.dev.jsonl (or .train.jsonl)",
            prompt_column="dialogue",
            columns=(
                "id",
                "fname",
                "dialogue",
                "summary",
                "summary1",
                "summary2",
                "summary3",
                "topic",
                "topic1",
            ),
            convert=_dialogsum,
            evaluation_note="the train split (12,460 dialogues); evaluation uses "
            "dialogsum.test.jsonl",
            read_local=_table,
        ),
        BenignPreset(
            name="scitldr",
            task="summarization",
            hub_id="allenai/scitldr",
            configs=("Abstract",),
            split="train",
            license="apache-2.0",
            file_name="SciTLDR-A train.jsonl",
            prompt_column="source",
            columns=("paper_id", "source", "target"),
            convert=_scitldr,
            evaluation_note="the Abstract train split (1,992 abstracts); SciTLDR-A.test.jsonl "
            "is the test split",
            read_local=_table,
        ),
        BenignPreset(
            name="multi30k",
            task="translation",
            hub_id="bentrevett/multi30k",
            split="train",
            license="other",
            file_name="a line-aligned prefix (test_2016_flickr → .en + .fr / .de)",
            prompt_column="en",
            columns=("en", *MULTI30K_TARGETS),
            convert=_multi30k,
            evaluation_note="the Hub copy's train split (29,000 en-de pairs); locally the file "
            "given (evaluation uses test_2017_flickr)",
            read_local=_multi30k_files,
        ),
        BenignPreset(
            name="financial-phrasebank",
            task="classification",
            hub_id="takala/financial_phrasebank",
            configs=("sentences_allagree",),
            split="train",
            # The original licence is CC BY-NC-SA 3.0 (License.txt of the release).
            license="cc-by-nc-sa-3.0",
            file_name="Sentences_AllAgree.txt",
            prompt_column="sentence",
            columns=("sentence", "label"),
            convert=_financial_phrasebank,
            evaluation_note="all rows (it has no split): evaluate refuses a Financial "
            "PhraseBank helpfulness set whose sentences the build trains on",
            hub_verified=False,
            read_local=_table,
        ),
        BenignPreset(
            name="sst2",
            task="classification",
            hub_id="stanfordnlp/sst2",
            split="train",
            license="other",
            file_name="train.tsv (GLUE SST-2)",
            prompt_column="sentence",
            columns=("sentence", "label"),
            convert=_sst2,
            evaluation_note="the train split (67,349 phrases); evaluation uses GLUE's dev.tsv",
            read_local=_table,
        ),
        BenignPreset(
            name="alpaca",
            task="chat",
            hub_id="tatsu-lab/alpaca",
            split="train",
            license="cc-by-nc-4.0",
            file_name="alpaca_data.json",
            prompt_column="instruction",
            columns=("instruction", "input", "output"),
            convert=_alpaca,
            evaluation_note="every row with an output (rows without one are skipped)",
            read_local=_alpaca_table,
        ),
    )
}


def load_benign_preset(
    name: str,
    path: Path | None = None,
    *,
    spec: str | None = None,
    max_prompt_chars: int = 20_000,
) -> SeedSource:
    """Load a benign preset from the Hub, or from ``path`` (a local copy of its original file)."""
    preset = BENIGN_PRESETS[name.lower()]
    if path is None:
        batches, files = _from_hub(preset)
    else:
        assert preset.read_local is not None
        table, files = preset.read_local(path)
        if preset.prompt_column not in table.columns and not _has_alternative(preset, table):
            raise InputError(
                f"not a {preset.name} file: no '{preset.prompt_column}' column (expected the "
                f"columns of {preset.file_name}); available columns: {', '.join(table.columns)}",
                file=table.file,
                field=preset.prompt_column,
            )
        batches = [table.rows]
    seeds, skipped = convert_rows(preset, batches, max_prompt_chars)
    if not seeds:
        where = files[0].get("path") or preset.hub_id if files else preset.hub_id
        raise InputError(
            f"no usable {preset.name} rows in {where} (skipped: {dict(skipped)}); expected the "
            f"rows of {preset.file_name}"
        )
    return SeedSource(
        spec=spec or preset.name,
        name=preset.name,
        seeds=tuple(seeds),
        files=tuple(files),
        skipped=dict(skipped),
    )


def _has_alternative(preset: BenignPreset, table: Table) -> bool:
    """MBPP's sanitized file names the instruction ``prompt`` instead of ``text``."""
    return preset.name == "mbpp" and "prompt" in table.columns
