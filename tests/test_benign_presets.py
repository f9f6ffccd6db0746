"""Benign task presets: the real public files, tiny files in each original format, the Hub path."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_hub import online_env

from builders.errors import InputError
from builders.seeds import load_seed_spec
from builders.seeds.benign_presets import BENIGN_PRESETS, detokenize
from builders.seeds.presets import PRESETS
from tests.conftest import SHARED, needs_shared

TASKS = SHARED / "tasks"
SEEDS = SHARED / "seeds"


def test_registry_is_separate_from_the_harmful_presets_and_complete():
    assert set(BENIGN_PRESETS) == {
        "mbpp",
        "humaneval",
        "dialogsum",
        "scitldr",
        "multi30k",
        "financial-phrasebank",
        "sst2",
        "alpaca",
    }
    assert not set(BENIGN_PRESETS) & set(PRESETS)
    tasks = {name: preset.task for name, preset in BENIGN_PRESETS.items()}
    assert tasks["mbpp"] == tasks["humaneval"] == "code_generation"
    assert tasks["dialogsum"] == tasks["scitldr"] == "summarization"
    assert tasks["financial-phrasebank"] == tasks["sst2"] == "classification"
    assert (tasks["multi30k"], tasks["alpaca"]) == ("translation", "chat")
    for preset in BENIGN_PRESETS.values():
        assert "/" in preset.hub_id and preset.split and preset.evaluation_note
        assert preset.read_local is not None


def test_unknown_name_suggests_benign_presets_too():
    with pytest.raises(InputError, match="did you mean 'dialogsum'"):
        load_seed_spec("dialogsun")
    with pytest.raises(InputError, match="did you mean 'multi30k'"):
        load_seed_spec("multi30x=somewhere")


# --- the real files in ../shared ---------------------------------------------------------------


def _benign_contract(source, task: str) -> None:
    for seed in source.seeds:
        assert (seed.kind, seed.category, seed.task, seed.language) == (
            "benign",
            "benign",
            task,
            "en",
        )
        assert seed.source == source.name and seed.prompt.strip()


@needs_shared
def test_mbpp_reads_train_and_validation_ids_only_with_tests():
    source = load_seed_spec(f"mbpp={SEEDS / 'mbpp/mbpp.jsonl'}")
    _benign_contract(source, "code_generation")
    assert len(source.seeds) == 464
    assert source.skipped == {"mbpp_test_split": 500, "mbpp_prompt_split": 10}
    ids = [int(seed.extra["source_id"].split("/")[1]) for seed in source.seeds]
    assert min(ids) == 511 and max(ids) == 974
    for seed in source.seeds:
        with warnings.catch_warnings():  # MBPP solutions hold invalid escapes such as "\d"
            warnings.simplefilter("ignore")
            ast.parse(seed.answer)
        assert "\r" not in seed.answer and not re.search(r"^ *\t", seed.answer, re.MULTILINE)
        assert seed.extra["tests"] and all(t.startswith("assert") for t in seed.extra["tests"])
        assert seed.extra["language"] == "python"
        assert re.search(rf"(def|class) {seed.extra['entry_point']}\b", seed.answer)
    sanitized = load_seed_spec(f"mbpp={SEEDS / 'mbpp/sanitized-mbpp.json'}")
    assert len(sanitized.seeds) == 163 and sanitized.skipped["mbpp_test_split"] == 257


@needs_shared
def test_humaneval_keeps_the_whole_function_and_its_check():
    source = load_seed_spec(f"humaneval={SEEDS / 'humaneval/HumanEval.jsonl'}")
    _benign_contract(source, "code_generation")
    assert len(source.seeds) == 164 and source.skipped == {}
    for seed in source.seeds:
        entry = seed.extra["entry_point"]
        assert f"`{entry}`" in seed.prompt and "```python" in seed.prompt
        assert f"def {entry}" in seed.answer
        ast.parse(seed.answer)
        (test,) = seed.extra["tests"]
        assert "def check(candidate)" in test and test.endswith(f"check({entry})")


@needs_shared
def test_summarization_presets_keep_every_reference():
    dev = load_seed_spec(f"dialogsum={TASKS / 'summarization/dialogsum/dialogsum.dev.jsonl'}")
    _benign_contract(dev, "summarization")
    assert len(dev.seeds) == 500 and "#Person1#" in dev.seeds[0].prompt
    assert all(seed.extra["references"] == [seed.answer] for seed in dev.seeds)
    test = load_seed_spec(f"dialogsum={TASKS / 'summarization/dialogsum/dialogsum.test.jsonl'}")
    assert all(len(seed.extra["references"]) == 3 for seed in test.seeds)
    scitldr = load_seed_spec(f"scitldr={TASKS / 'summarization/scitldr/SciTLDR-A.test.jsonl'}")
    _benign_contract(scitldr, "summarization")
    assert len(scitldr.seeds) == 618
    assert Counter(len(s.extra["references"]) for s in scitldr.seeds) == {2: 83, 3: 339, 4: 196}
    assert all(seed.answer == seed.extra["references"][0] for seed in scitldr.seeds)


@needs_shared
def test_multi30k_reads_a_line_aligned_prefix():
    prefix = TASKS / "translation/multi30k/test_2016_flickr"
    source = load_seed_spec(f"multi30k={prefix}")
    _benign_contract(source, "translation")
    assert len(source.seeds) == 1000
    assert all(set(seed.extra["translations"]) == {"fr"} for seed in source.seeds)
    assert source.seeds[1].prompt.startswith("A Boston Terrier")
    assert source.seeds[1].extra["translations"]["fr"].startswith("Un terrier de Boston")
    assert [Path(f["path"]).name for f in source.files] == [
        "test_2016_flickr.en",
        "test_2016_flickr.fr",
    ]
    same = load_seed_spec(f"multi30k={prefix}.en")
    assert [s.id for s in same.seeds] == [s.id for s in source.seeds]


@needs_shared
def test_classification_presets_map_labels_to_options():
    path = TASKS / "classification/financial_phrasebank/Sentences_AllAgree.txt"
    fpb = load_seed_spec(f"financial-phrasebank={path}")
    _benign_contract(fpb, "classification")
    assert Counter(seed.answer for seed in fpb.seeds) == {
        "neutral": 1391,
        "positive": 570,
        "negative": 303,
    }
    assert all(seed.answer in seed.extra["options"] for seed in fpb.seeds)
    assert "Componenta's net sales" in fpb.seeds[1].prompt  # detokenized
    sst2 = load_seed_spec(f"sst2={TASKS / 'classification/sst2/dev.tsv'}")
    _benign_contract(sst2, "classification")
    assert Counter(seed.answer for seed in sst2.seeds) == {"positive": 444, "negative": 428}
    assert sst2.seeds[0].prompt == "it's a charming and often affecting journey."


@needs_shared
def test_alpaca_instructions_without_outputs_are_requests_without_a_reference():
    source = load_seed_spec(f"alpaca={SEEDS / 'safety_tuned_llamas/I-Alpaca.json'}")
    assert len(source.seeds) == 50 and source.skipped == {}
    assert all(seed.answer is None and seed.task == "chat" for seed in source.seeds)


# --- tiny files in each original format --------------------------------------------------------


def test_alpaca_rows_without_output_have_no_reference(tmp_path):
    path = tmp_path / "alpaca_data.json"
    rows = [
        {"instruction": "Name three primary colours.", "input": "", "output": "Red, blue, yellow."},
        {"instruction": "Summarize this.", "input": "The cat sat.", "output": "A cat sat."},
        {"instruction": "Write a haiku.", "input": "", "output": ""},
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
    source = load_seed_spec(f"alpaca={path}")
    assert [(s.prompt, s.answer) for s in source.seeds] == [
        ("Name three primary colours.", "Red, blue, yellow."),
        ("Summarize this.\n\nThe cat sat.", "A cat sat."),
        ("Write a haiku.", None),
    ]
    assert source.skipped == {}
    assert all(s.task == "chat" and s.kind == "benign" for s in source.seeds)


def test_sentence_at_label_latin1_and_bad_lines(tmp_path):
    path = tmp_path / "Sentences.txt"
    path.write_bytes(
        "Net sales rose 5 % to EUR 10 mn .@positive\r\nCaf\xe9 sales fell .@negative\r\n".encode(
            "iso-8859-1"
        )
    )
    source = load_seed_spec(f"financial-phrasebank={path}")
    assert [(s.prompt, s.answer) for s in source.seeds] == [
        ("Net sales rose 5% to EUR 10 mn.", "positive"),
        ("Café sales fell.", "negative"),
    ]
    path.write_text("a sentence without a label\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"Sentences.txt: row 1: expected 'sentence@label'"):
        load_seed_spec(f"financial-phrasebank={path}")


def test_tsv_with_a_ragged_row_names_it(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabel\na fine film \t1\nbad \t0\textra\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"train.tsv: row 3: 3 tab-separated cells"):
        load_seed_spec(f"sst2={path}")
    path.write_text("sentence\tlabel\na fine film \t1\nnot labelled\t-1\n", encoding="utf-8")
    source = load_seed_spec(f"sst2={path}")
    assert [(s.prompt, s.answer) for s in source.seeds] == [("a fine film", "positive")]
    assert source.skipped == {"sst2_unknown_label": 1}


def test_line_aligned_files_must_align_and_exist(tmp_path):
    (tmp_path / "pairs.en").write_text("One dog.\nTwo cats.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no translation next to pairs.en \(looked for .fr"):
        load_seed_spec(f"multi30k={tmp_path / 'pairs'}")
    (tmp_path / "pairs.de").write_text("Ein Hund.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pairs.de: 1 lines, but pairs.en has 2"):
        load_seed_spec(f"multi30k={tmp_path / 'pairs'}")
    (tmp_path / "pairs.de").write_text("Ein Hund.\nZwei Katzen.\n", encoding="utf-8")
    (tmp_path / "pairs.fr").write_text("Un chien.\nDeux chats.\n", encoding="utf-8")
    source = load_seed_spec(f"multi30k={tmp_path / 'pairs'}")
    assert source.seeds[1].extra["translations"] == {"fr": "Deux chats.", "de": "Zwei Katzen."}
    with pytest.raises(InputError, match=r"no nothing.en next to the prefix"):
        load_seed_spec(f"multi30k={tmp_path / 'nothing'}")


def test_mbpp_code_that_does_not_parse_is_skipped(tmp_path):
    path = tmp_path / "mbpp.jsonl"
    rows = [
        {
            "task_id": 600,
            "text": "Add two numbers.",
            "code": "def add(a, b):\r\n\treturn a + b",
            "test_list": ["assert add(1, 2) == 3"],
        },
        {"task_id": 601, "text": "Print hello.", "code": "print 'hello'", "test_list": []},
        {"task_id": 20, "text": "A test-split task.", "code": "x = 1", "test_list": []},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    source = load_seed_spec(f"mbpp={path}")
    (seed,) = source.seeds
    assert seed.answer == "def add(a, b):\n    return a + b"
    assert seed.extra["entry_point"] == "add"
    assert source.skipped == {"mbpp_code_does_not_parse": 1, "mbpp_test_split": 1}


def test_a_file_of_another_shape_says_which_columns_it_needs(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"not a dialogsum file: no 'dialogue' column"):
        load_seed_spec(f"dialogsum={path}")


def test_detokenize():
    assert detokenize("it 's ( very ) good , is n't it ?") == "it's (very) good, isn't it?"


# --- the Hub path ------------------------------------------------------------------------------


def use_hub_id(monkeypatch, name: str, hub_id: str) -> None:
    preset = dataclasses.replace(BENIGN_PRESETS[name], hub_id=hub_id)
    monkeypatch.setitem(BENIGN_PRESETS, name, preset)


def test_hub_financial_phrasebank_maps_class_ids(tmp_path, monkeypatch):
    root = tmp_path / "fpb_hub"
    (root / "sentences_allagree").mkdir(parents=True)
    table = pa.table(
        {"sentence": ["Profit rose .", "Sales fell .", "It met ."], "label": [2, 0, 1]}
    )
    pq.write_table(table, root / "sentences_allagree" / "train-00000-of-00001.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: sentences_allagree\n  data_files:\n  - split: train\n"
        "    path: sentences_allagree/*.parquet\n---\n",
        encoding="utf-8",
    )
    use_hub_id(monkeypatch, "financial-phrasebank", str(root))
    source = load_seed_spec("financial-phrasebank")
    assert [(s.prompt, s.answer) for s in source.seeds] == [
        ("Profit rose.", "positive"),
        ("Sales fell.", "negative"),
        ("It met.", "neutral"),
    ]
    (entry,) = source.files
    assert (entry["config"], entry["split"]) == ("sentences_allagree", "train")


def test_mbpp_from_the_fake_hub_reads_train_and_validation(fake_hub, tmp_path):
    import io
    import subprocess
    import sys

    def parquet(ids: list[int]) -> bytes:
        buffer = io.BytesIO()
        table = pa.table(
            {
                "task_id": ids,
                "text": [f"Return {i} plus one." for i in ids],
                "code": [f"def f{i}(x):\n    return x + 1" for i in ids],
                "test_list": [[f"assert f{i}(1) == 2"] for i in ids],
                "test_setup_code": ["" for _ in ids],
            }
        )
        pq.write_table(table, buffer)
        return buffer.getvalue()

    readme = (
        "---\nconfigs:\n- config_name: full\n  data_files:\n"
        + "".join(
            f"  - split: {split}\n    path: full/{split}-00000-of-00001.parquet\n"
            for split in ("train", "validation", "test")
        )
        + "---\n"
    )
    fake_hub.add_repo(
        "google-research-datasets/mbpp",
        {
            "README.md": readme.encode(),
            "full/train-00000-of-00001.parquet": parquet([601, 602]),
            "full/validation-00000-of-00001.parquet": parquet([511]),
            "full/test-00000-of-00001.parquet": parquet([11, 12]),
        },
    )
    script = (
        "import json; from builders.seeds import load_seed_spec; s = load_seed_spec('mbpp'); "
        "print(json.dumps({'ids': [x.extra['source_id'] for x in s.seeds], 'files': s.files}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=online_env(fake_hub.url, tmp_path / "hf"),
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["ids"] == ["mbpp/601", "mbpp/602", "mbpp/511"]
    (entry,) = out["files"]
    assert (entry["hub_id"], entry["config"], entry["split"]) == (
        "google-research-datasets/mbpp",
        "full",
        "train+validation",
    )
