"""evaluate refuses to score helpfulness on task inputs that a training build's rows contain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders.build import build
from builders.config import BuildConfig
from builders.errors import InputError
from train_safety.evaluation.config import EvalConfig
from train_safety.evaluation.items import evaluation_items

SENTENCES = [
    f"the film about harbour town number {i} is {'a delight' if i % 2 else 'a bore'} from start to finish"
    for i in range(40)
]


def tsv(path: Path, sentences: list[str]) -> Path:
    lines = ["sentence\tlabel"] + [f"{s} \t{1 if 'delight' in s else 0}" for s in sentences]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sst2_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("overlap")
    harmful = folder / "harmful.csv"
    harmful.write_text(
        "prompt,category\n"
        + "".join(
            f"Describe how to forge signature number {i} on a cheque,S2\n" for i in range(30)
        ),
        encoding="utf-8",
    )
    train = tsv(folder / "train.tsv", SENTENCES)
    out = folder / "build"
    build(
        BuildConfig(
            out=str(out),
            seeds=(str(harmful), f"sst2={train}"),
            tasks=("classification",),
            benign_ratio=100,  # keep every benign row
        )
    )
    return out, train


def helpfulness(path: Path) -> tuple[dict, ...]:
    return ({"task": "classification", "path": str(path), "label_names": ["negative", "positive"]},)


def test_helpfulness_rows_the_build_trains_on_are_refused(sst2_build, tmp_path):
    out, train = sst2_build
    config = EvalConfig(
        model="m", safety_data=str(out), helpfulness=helpfulness(train), out=str(tmp_path / "e")
    )
    with pytest.raises(InputError) as info:
        evaluation_items(config)
    message = str(info.value)
    assert "\n" not in message and "field 'helpfulness'" in message
    assert f"helpfulness items are in the training rows of {out} (split train" in message
    assert "train.tsv:" in message


def test_rows_the_build_never_saw_are_scored(sst2_build, tmp_path):
    out, _ = sst2_build
    unseen = tsv(
        tmp_path / "dev.tsv",
        [s.replace("harbour town", "mountain village") for s in SENTENCES[:10]],
    )
    config = EvalConfig(
        model="m", safety_data=str(out), helpfulness=helpfulness(unseen), out=str(tmp_path / "e")
    )
    items = evaluation_items(config)
    assert sum(item.section == "helpfulness" for item in items) == 10
    assert all(item.source_text for item in items if item.section == "helpfulness")


def test_the_build_a_model_was_trained_on_is_checked_too(sst2_build, tmp_path):
    out, train = sst2_build
    model = tmp_path / "model"
    model.mkdir()
    manifest = {"safety_data": {"path": str(out), "configs": ["classification"], "split": "train"}}
    (model / "data_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    config = EvalConfig(model=str(model), helpfulness=helpfulness(train), out=str(tmp_path / "e"))
    with pytest.raises(InputError, match="in the training rows of"):
        evaluation_items(config)
    # a model trained on the build's test split: those rows are its training rows then
    test_only = {"safety_data": {"path": str(out), "configs": ["classification"], "split": "test"}}
    (model / "data_manifest.json").write_text(json.dumps(test_only), encoding="utf-8")
    held_out = [s for s in SENTENCES if s in _test_inputs(out)]
    assert held_out
    config = EvalConfig(
        model=str(model),
        helpfulness=helpfulness(tsv(tmp_path / "h.tsv", held_out)),
        out=str(tmp_path / "e"),
    )
    with pytest.raises(InputError, match="split test"):
        evaluation_items(config)


def _test_inputs(out: Path) -> str:
    import pyarrow.parquet as pq

    text = []
    for file in (out / "classification").glob("test-*.parquet"):
        text += [row["messages"][0]["content"] for row in pq.read_table(file).to_pylist()]
    return "\n".join(text)


def test_the_command_exits_2_with_one_line(sst2_build, tmp_path, capsys):
    from train_safety.evaluation.run import main

    out, train = sst2_build
    # SST-2's labels are 0 / 1: a YAML mapping names them
    config = tmp_path / "eval.yaml"
    config.write_text(
        f"model: m\nsafety_data: {out}\nout: {tmp_path / 'e'}\nhelpfulness:\n"
        f"  - {{task: classification, path: {train}, label_names: [negative, positive]}}\n",
        encoding="utf-8",
    )
    argv = ["--config", str(config)]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "helpfulness items are in the training rows of" in err
    assert not (tmp_path / "e").exists()
