"""Task data loaders and formatters: the shared public files and small local files."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED, needs_shared

from builders.errors import InputError
from train_safety.data.tasks import TaskDataSpec, load_task_examples, source_fingerprint


@needs_shared
def test_multi30k_pair_is_line_aligned_both_ways():
    base = SHARED / "tasks/translation/multi30k/test_2016_flickr"
    english = (base.parent / "test_2016_flickr.en").read_text("utf-8").splitlines()
    french = (base.parent / "test_2016_flickr.fr").read_text("utf-8").splitlines()
    en_fr = load_task_examples(TaskDataSpec("translation", str(base), offset=10, max_rows=3))
    fr_en = load_task_examples(
        TaskDataSpec(
            "translation", f"{base}.fr", source_language="fr", target_language="en", max_rows=2
        )
    )
    assert [e.reference for e in en_fr] == french[10:13]
    assert [e.row for e in en_fr] == [10, 11, 12]
    assert english[10] in en_fr[0].prompt and "from English to French" in en_fr[0].prompt
    assert fr_en[1].reference == english[1] and french[1] in fr_en[1].prompt
    assert set(source_fingerprint(TaskDataSpec("translation", str(base)))["files"]) == {
        f"{base}.en",
        f"{base}.fr",
    }


@needs_shared
def test_summarization_keeps_every_reference():
    dialogsum = load_task_examples(
        TaskDataSpec(
            "summarization",
            str(SHARED / "tasks/summarization/dialogsum/dialogsum.test.jsonl"),
            max_rows=2,
        )
    )
    scitldr = load_task_examples(
        TaskDataSpec(
            "summarization",
            str(SHARED / "tasks/summarization/scitldr/SciTLDR-A.test.jsonl"),
            max_rows=1,
        )
    )
    assert all(len(e.references) == 3 for e in dialogsum)  # summary1..3
    assert "#Person1#" in dialogsum[0].prompt
    first = json.loads(
        (SHARED / "tasks/summarization/scitldr/SciTLDR-A.test.jsonl").read_text().splitlines()[0]
    )
    assert list(scitldr[0].references) == [t.strip() for t in first["target"]]
    assert " ".join(s.strip() for s in first["source"]) in scitldr[0].prompt


@needs_shared
def test_classification_label_names_from_words_or_given():
    phrasebank = load_task_examples(
        TaskDataSpec(
            "classification",
            str(SHARED / "tasks/classification/financial_phrasebank/Sentences_AllAgree.txt"),
        )
    )
    assert len(phrasebank) == 2264
    assert phrasebank[0].label_names == ("negative", "neutral", "positive")
    assert {e.reference for e in phrasebank} == {"negative", "neutral", "positive"}
    sst2 = load_task_examples(
        TaskDataSpec(
            "classification",
            str(SHARED / "tasks/classification/sst2/dev.tsv"),
            label_names=("negative", "positive"),
            max_rows=2,
        )
    )
    assert [e.reference for e in sst2] == ["positive", "negative"]  # GLUE: 1 = positive
    assert "negative, positive" in sst2[0].prompt and "charming" in sst2[0].prompt
    with pytest.raises(InputError, match="row 0: field 'label'"):
        load_task_examples(
            TaskDataSpec(
                "classification",
                str(SHARED / "tasks/classification/sst2/dev.tsv"),
                label_names=("only",),
                max_rows=1,
            )
        )


@needs_shared
@pytest.mark.parametrize(
    "name", ["mbpp/mbpp.jsonl", "mbpp/sanitized-mbpp.json", "humaneval/HumanEval.jsonl"]
)
def test_code_references_pass_their_own_tests(name):
    """Reference solution + formatted tests pass in the sandbox: the tests are wired up right."""
    from train_safety.evaluation.sandbox import run_python

    examples = load_task_examples(
        TaskDataSpec("code_generation", str(SHARED / "seeds" / name), max_rows=3)
    )
    for example in examples:
        assert example.tests
        program = example.reference + "\n\n" + "\n".join(example.tests) + "\n"
        assert run_python(program, timeout_s=20).passed, example.prompt
        broken = "\n".join(example.tests)  # no solution: the tests must fail
        assert not run_python(broken, timeout_s=20).passed
    if name.startswith("mbpp"):
        assert "Your code should pass this test:\nassert" in examples[0].prompt


def test_local_folder_and_bad_rows(tmp_path):
    folder = tmp_path / "summaries"
    folder.mkdir()
    rows = [{"document": f"Long text number {i}.", "summary": f"Text {i}."} for i in range(4)]
    (folder / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    examples = load_task_examples(TaskDataSpec("summarization", str(folder), split="train"))
    assert [e.reference for e in examples] == [f"Text {i}." for i in range(4)]
    assert examples[2].messages()[1] == {"role": "assistant", "content": "Text 2."}

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"document": "x", "summary": "y"}) + "\n" + json.dumps({"body": "z"}), "utf-8"
    )
    with pytest.raises(InputError, match=r"bad.jsonl: row 1: no input column"):
        load_task_examples(TaskDataSpec("summarization", str(bad)))
    with pytest.raises(InputError, match="field 'task'"):
        TaskDataSpec("poetry", str(bad))


def test_label_names_come_from_classlabel_features(tmp_path):
    """A Hub-layout folder (parquet written by `datasets`) keeps ClassLabel names: no label_names."""
    import datasets

    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    data = datasets.Dataset.from_dict(
        {"sentence": ["Great film.", "Dull plot.", "Fine cast."], "label": [1, 0, 1]},
        features=features,
    )
    (tmp_path / "sst" / "data").mkdir(parents=True)
    data.to_parquet(str(tmp_path / "sst" / "data" / "test-00000-of-00001.parquet"))
    examples = load_task_examples(
        TaskDataSpec("classification", str(tmp_path / "sst"), split="test")
    )
    assert [e.reference for e in examples] == ["pos", "neg", "pos"]
    assert examples[0].label_names == ("neg", "pos") and "neg, pos" in examples[0].prompt
