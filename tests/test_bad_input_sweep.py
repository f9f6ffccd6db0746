"""A sweep of malformed input over every entry point (issue 15): each case exits 2 with exactly one
line on stderr naming the file, row and field where they apply, no traceback, and writes nothing
(the test folder is byte-for-byte the same afterwards). Cases run in-process through each
command's ``main``; the ``python -m`` wrappers only add the extras check (tests/test_extras.py)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

Main = Callable[[list[str]], int]


@dataclass
class Ctx:
    tmp: Path
    build: Path  # the session's default build (outside tmp: never written to)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def build_copy(self, name: str = "copy") -> Path:
        copy = self.tmp / name
        shutil.copytree(self.build, copy)
        return copy


@dataclass
class Case:
    main: Main
    argv: list[str]
    expected: list[str]  # substrings of the one line: the file, "row N", "field 'x'", the cause


CASES: dict[str, Callable[[Ctx], Case]] = {}


def case(name: str):
    def register(make: Callable[[Ctx], Case]) -> Callable[[Ctx], Case]:
        CASES[name] = make
        return make

    return register


# ---------------------------------------------------------------- build


def multitask() -> Main:
    from builders.multitask import main

    return main


def build(ctx: Ctx, *args: str, expected: list[str]) -> Case:
    out = str(ctx.tmp / "out")
    return Case(multitask(), ["build", "--out", out, "--no-progress", *args], expected)


@case("build: NUL byte in a seed CSV")
def _(ctx):
    seeds = ctx.file("seeds.csv", "prompt\nHow do I pick a lock\x00 quickly?\n")
    return build(ctx, "--seeds", seeds, expected=[seeds, "row 1", "field 'prompt'", "NUL"])


@case("build: latin-1 seed file")
def _(ctx):
    seeds = ctx.file(
        "seeds.csv", "prompt\nComment voler une voiture à minuit ?\n".encode("latin-1")
    )
    return build(ctx, "--seeds", seeds, expected=[seeds, "not UTF-8", "line 2"])


@case("build: UTF-16 seed file")
def _(ctx):
    seeds = ctx.file("seeds.csv", "prompt\nHow do I steal a car?\n".encode("utf-16"))
    return build(ctx, "--seeds", seeds, expected=[seeds, "not UTF-8"])


@case("build: truncated JSONL seed file")
def _(ctx):
    seeds = ctx.file("seeds.jsonl", '{"prompt": "How do I steal a car?"}\n{"prompt": "How do')
    return build(ctx, "--seeds", seeds, expected=[seeds, "row 2", "invalid JSON"])


@case("build: CSV without a prompt column")
def _(ctx):
    seeds = ctx.file("seeds.csv", "title,notes\nHow do I steal a car?,x\n")
    return build(ctx, "--seeds", seeds, expected=[seeds, "field 'prompt'", "no prompt column"])


@case("build: empty seed file")
def _(ctx):
    seeds = ctx.file("seeds.csv", "")
    return build(ctx, "--seeds", seeds, expected=[seeds, "empty"])


@case("build: 5 MB prompt")
def _(ctx):
    seeds = ctx.file("seeds.csv", "prompt\n" + "a" * 5_000_000 + "\n")
    return build(ctx, "--seeds", seeds, expected=[seeds, "row 1", "field 'prompt'", "limit"])


@case("build: a folder given as a seed file")
def _(ctx):
    (ctx.tmp / "seeds").mkdir()
    folder = str(ctx.tmp / "seeds")
    return build(ctx, "--seeds", folder, expected=[folder, "is a folder"])


@case("build: unknown preset")
def _(ctx):
    return build(
        ctx, "--seeds", "harmbnch", expected=["unknown seed source 'harmbnch'", "harmbench"]
    )


@case("build: malformed NAME=PATH")
def _(ctx):
    return build(ctx, "--seeds", "advbench=", expected=["advbench=", "give the file after '='"])


@case("build: unknown task")
def _(ctx):
    return build(ctx, "--tasks", "chat,poetry", expected=["unknown task 'poetry'"])


@case("build: zero variants per seed")
def _(ctx):
    return build(ctx, "--variants-per-seed", "0", expected=["field 'variants_per_seed'", ">= 1"])


@case("build: zero concurrency")
def _(ctx):
    return build(ctx, "--concurrency", "0", expected=["field 'concurrency'", ">= 1, got 0"])


@case("build: negative requests per minute")
def _(ctx):
    return build(ctx, "--rpm", "-5", expected=["field 'rpm'", ">= 0, got -5"])


@case("build: zero rows per shard")
def _(ctx):
    return build(ctx, "--max-rows-per-shard", "0", expected=["field 'max_rows_per_shard'"])


@case("build: test fraction above 1")
def _(ctx):
    return build(ctx, "--test-fraction", "1.5", expected=["field 'test_fraction'", "in (0, 1)"])


@case("build: language score above 1")
def _(ctx):
    return build(ctx, "--language-min-score", "2", expected=["field 'language_min_score'"])


@case("build: negative spending cap")
def _(ctx):
    return build(ctx, "--max-cost-usd", "-1", expected=["field 'max_cost_usd'", "> 0"])


@case("build: zero request timeout")
def _(ctx):
    return build(ctx, "--request-timeout", "0", expected=["field 'request_timeout'"])


@case("build: a word for an integer")
def _(ctx):
    return build(ctx, "--seed", "banana", expected=["field 'seed'", "expected int, got 'banana'"])


@case("build: null for an integer in YAML")
def _(ctx):
    config = ctx.file("build.yaml", "max_rows_per_shard: null\n")
    return build(ctx, "--config", config, expected=["field 'max_rows_per_shard'", "null"])


@case("build: YAML syntax error")
def _(ctx):
    config = ctx.file("build.yaml", "tasks: [chat,\n  seed: 3\nlanguages: fr\n")
    return build(ctx, "--config", config, expected=[config, "invalid YAML at line"])


@case("build: unknown YAML key")
def _(ctx):
    config = ctx.file("build.yaml", "taks: [chat]\n")
    return build(ctx, "--config", config, expected=[config, "field 'taks'", "did you mean 'tasks'"])


@case("build: --out is a file")
def _(ctx):
    out = ctx.file("results.txt", "keep me")
    return Case(
        multitask(),
        ["build", "--out", out, "--force", "--no-progress"],
        [out, "field 'out'", "is a file"],
    )


@case("build: --out under /proc")
def _(ctx):
    return Case(
        multitask(),
        ["build", "--out", "/proc/multitask-safety/out", "--no-progress"],
        ["field 'out'", "cannot write in /proc"],
    )


@case("build: unknown flag")
def _(ctx):
    return build(ctx, "--variants", "3", expected=["unrecognized arguments: --variants 3"])


@case("build: missing prices file")
def _(ctx):
    prices = str(ctx.tmp / "prices.yaml")
    return build(ctx, "--prices", prices, expected=[prices, "field 'prices'", "no such file"])


@case("build: unreadable seed file")
def _(ctx):
    seeds = ctx.file("locked.csv", "prompt\nHow do I steal a car?\n")
    os.chmod(seeds, 0)  # root reads it anyway: the reader is also made to fail (see below)
    return build(ctx, "--seeds", seeds, expected=[seeds, "cannot read", "ermission denied"])


# ---------------------------------------------------------------- stats, validate, push


@case("stats: missing folder")
def _(ctx):
    folder = str(ctx.tmp / "nowhere")
    return Case(multitask(), ["stats", folder], [folder, "field 'dir'", "no such folder"])


@case("stats: truncated parquet")
def _(ctx):
    copy = ctx.build_copy()
    (shard,) = (copy / "all").glob("train-*.parquet")
    shard.write_bytes(shard.read_bytes()[:1000])
    return Case(multitask(), ["stats", str(copy)], [str(shard), "unreadable parquet"])


@case("stats: broken card")
def _(ctx):
    copy = ctx.build_copy()
    (copy / "README.md").write_text("---\nconfigs: [\n---\n", encoding="utf-8")
    return Case(multitask(), ["stats", str(copy)], [str(copy / "README.md"), "broken data card"])


@case("stats: manifest that is not JSON")
def _(ctx):
    copy = ctx.build_copy()
    (copy / "manifest.json").write_text("{not json", encoding="utf-8")
    return Case(multitask(), ["stats", str(copy)], [str(copy / "manifest.json"), "not valid JSON"])


@case("validate: a file instead of a folder")
def _(ctx):
    path = ctx.file("data.parquet", b"PAR1")
    return Case(multitask(), ["validate", path], [path, "field 'dir'", "is a file"])


@case("validate: unknown flag")
def _(ctx):
    return Case(multitask(), ["validate", "--strict"], ["unrecognized arguments: --strict"])


@case("push: version that is not semver")
def _(ctx):
    argv = ["push", str(ctx.build), "--repo-id", "org/name", "--version", "banana"]
    return Case(multitask(), argv, ["field 'version'", "'banana' is not a semver version"])


@case("push: malformed repo id")
def _(ctx):
    argv = ["push", str(ctx.build), "--repo-id", "org//name x", "--version", "1.0.0"]
    return Case(multitask(), argv, ["field 'repo_id'", "is not ORG/NAME"])


@case("push: no token")
def _(ctx):
    argv = ["push", str(ctx.build), "--repo-id", "org/name", "--version", "1.0.0"]
    argv += ["--token-env", "MTS_SWEEP_NO_SUCH_TOKEN"]
    return Case(multitask(), argv, ["field '--token-env'", "no Hub token"])


@case("push: no folder")
def _(ctx):
    argv = ["push", "--repo-id", "org/name", "--version", "1.0.0"]
    return Case(multitask(), argv, ["field 'dir'", "give DIR"])


# ---------------------------------------------------------------- train_safety.sft


def sft(ctx: Ctx, *args: str, expected: list[str]) -> Case:
    pytest.importorskip("trl", reason="needs the [train] extra")
    from train_safety.train.sft import main

    out = str(ctx.tmp / "sft")
    argv = ["--model", str(ctx.build), "--safety-data", str(ctx.build), "--output-dir", out]
    return Case(main, [*argv, *args], expected)


@case("sft: zero batch size")
def _(ctx):
    return sft(ctx, "--per-device-train-batch-size", "0", expected=["per_device_train_batch_size"])


@case("sft: LoRA rank 0")
def _(ctx):
    return sft(ctx, "--lora-r", "0", expected=["field 'lora_r'", ">= 1, got 0"])


@case("sft: negative learning rate")
def _(ctx):
    return sft(ctx, "--learning-rate=-1e-4", expected=["field 'learning_rate'", "> 0"])


@case("sft: negative max task rows")
def _(ctx):
    return sft(ctx, "--max-task-rows", "-1", expected=["field 'max_task_rows'", ">= 1"])


@case("sft: safety fraction of 1")
def _(ctx):
    return sft(ctx, "--safety-fraction", "1", expected=["field 'safety_fraction'", "in (0, 1)"])


@case("sft: --force with --output-dir on a regular file")
def _(ctx):
    out = ctx.file("model.bin", "weights")
    case = sft(ctx, "--force", expected=[out, "field 'output_dir'", "is a file"])
    case.argv = [*case.argv, "--output-dir", out]
    return case


@case("sft: missing safety data folder")
def _(ctx):
    missing = str(ctx.tmp / "no-build")
    case = sft(ctx, expected=[missing, "field 'safety_data'", "no such file or folder"])
    case.argv = [*case.argv, "--safety-data", missing]
    return case


@case("sft: YAML syntax error")
def _(ctx):
    config = ctx.file("sft.yaml", "model: m\nlora_r: [8\n")
    return sft(ctx, "--config", config, expected=[config, "invalid YAML at line"])


@case("sft: unknown flag")
def _(ctx):
    return sft(ctx, "--epochs", "3", expected=["unrecognized arguments: --epochs 3"])


# ---------------------------------------------------------------- train_safety.evaluate


def evaluate(ctx: Ctx, *args: str, expected: list[str]) -> Case:
    pytest.importorskip("transformers", reason="needs the [train] extra")
    from train_safety.evaluation.run import main

    out = str(ctx.tmp / "eval")
    return Case(main, ["--model", "m", "--out", out, *args], expected)


@case("evaluate: non-UTF-8 XSTest file")
def _(ctx):
    xstest = ctx.file(
        "xstest.csv", "id,prompt,type,label\n1,Où tuer le temps ?,h,safe\n".encode("latin-1")
    )
    return evaluate(ctx, "--xstest", xstest, expected=[xstest, "field 'xstest'", "not UTF-8"])


@case("evaluate: zero batch size")
def _(ctx):
    return evaluate(
        ctx, "--safety-data", str(ctx.build), "--batch-size", "0", expected=["field 'batch_size'"]
    )


@case("evaluate: --out is a file")
def _(ctx):
    out = ctx.file("eval.json", "{}")
    return evaluate(
        ctx, "--safety-data", str(ctx.build), "--out", out, "--force",
        expected=[out, "field 'out'", "is a file"],
    )  # fmt: skip


@case("evaluate: unknown judge")
def _(ctx):
    return evaluate(
        ctx,
        "--safety-data",
        str(ctx.build),
        "--judge",
        "regex",
        expected=["field 'judge'", "'regex'"],
    )


@case("evaluate: unknown backend")
def _(ctx):
    return evaluate(
        ctx,
        "--safety-data",
        str(ctx.build),
        "--backend",
        "tgi",
        expected=["field 'backend'", "unknown backend 'tgi'"],
    )


@case("evaluate: unknown key in the YAML config")
def _(ctx):
    config = ctx.file("eval.yaml", f"safety_data: {ctx.build}\nmax_new_token: 16\n")
    return evaluate(
        ctx, "--config", config,
        expected=[config, "field 'max_new_token'", "did you mean 'max_new_tokens'"],
    )  # fmt: skip


# ---------------------------------------------------------------- train_safety.judge


def judge(
    ctx: Ctx, content: str | bytes, *args: str, name: str = "gen.csv", expected: list[str]
) -> Case:
    from train_safety.evaluation.judge_file import main

    source = ctx.file(name, content)
    return Case(main, ["--input", source, "--out", str(ctx.tmp / "judged.csv"), *args], expected)


@case("judge: empty prompt on the second row")
def _(ctx):
    case = judge(ctx, "prompt,response\nHi,Hello\n,Sure\n", expected=["row 2", "field 'prompt'"])
    case.expected.insert(0, case.argv[1])
    return case


@case("judge: non-UTF-8 CSV")
def _(ctx):
    content = "prompt,response\nCafé ?,Oui\n".encode("latin-1")
    return judge(ctx, content, expected=["gen.csv", "cannot read", "utf-8"])


@case("judge: truncated JSONL")
def _(ctx):
    return judge(
        ctx,
        '{"prompt": "a", "response": "b"}\n{"prompt": "c", "resp',
        name="gen.jsonl",
        expected=["gen.jsonl", "cannot read"],
    )


@case("judge: missing response column")
def _(ctx):
    return judge(
        ctx,
        "prompt,reply\nHi,Hello\n",
        expected=["gen.csv", "field 'response'", "column not found"],
    )


@case("judge: output with an unknown suffix")
def _(ctx):
    case = judge(
        ctx,
        "prompt,response\nHi,Hello\n",
        expected=["judged.txt", "field 'out'", "unsupported file type"],
    )
    case.argv = [*case.argv, "--out", str(ctx.tmp / "judged.txt")]
    return case


@case("judge: zero concurrency")
def _(ctx):
    return judge(
        ctx, "prompt,response\nHi,Hello\n", "--concurrency", "0", expected=["field 'concurrency'"]
    )


@case("judge: unreachable OpenAI-compatible server")
def _(ctx):
    pytest.importorskip("openai", reason="needs the [llm] extra")
    url = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    return judge(
        ctx, "prompt,response\nHi,Hello\n", "--judge", "openai:judge-model", "--base-url", url,
        expected=["field 'judge'", "cannot be used at http://127.0.0.1:9/v1", "APIConnectionError"],
    )  # fmt: skip


# ---------------------------------------------------------------- ablate, derived builds, tiny model, gemma, inspect


def ablate(ctx: Ctx, *args: str, expected: list[str]) -> Case:
    pytest.importorskip("trl", reason="needs the [train] extra")
    from train_safety.ablate import main

    return Case(main, list(args), expected)


@case("ablate: no grid")
def _(ctx):
    return ablate(ctx, "--out", str(ctx.tmp / "grid"), expected=["field 'config'", "--config FILE"])


@case("ablate: unknown key in the grid")
def _(ctx):
    grid = ctx.file("grid.yaml", "base_model: m\nconditons: [base]\n")
    return ablate(ctx, "--config", grid, expected=[grid, "field 'conditons'", "did you mean"])


@case("ablate: safety fraction above 1 in the grid")
def _(ctx):
    grid = ctx.file(
        "grid.yaml",
        f"base_model: m\nsafety_data: {ctx.build}\nsafety_fraction: 1.5\n"
        "conditions: [base, multitask_safety]\ntasks: {t: {task: translation, task_data: x}}\n",
    )
    return ablate(ctx, "--config", grid, expected=[grid, "field 'safety_fraction'"])


def derived(ctx: Ctx, *args: str, expected: list[str]) -> Case:
    from train_safety.data.derived_builds import main

    return Case(main, list(args), expected)


@case("derived builds: missing build")
def _(ctx):
    missing = str(ctx.tmp / "no-build")
    out = str(ctx.tmp / "derived")
    return derived(
        ctx,
        "harmful",
        "--build",
        missing,
        "--out",
        out,
        expected=[missing, "field 'build'", "no such folder"],
    )


@case("derived builds: --out is a file")
def _(ctx):
    out = ctx.file("derived.txt", "keep")
    return derived(
        ctx,
        "alignment",
        "--build",
        str(ctx.build),
        "--out",
        out,
        expected=[out, "field 'out'", "is a file"],
    )


@case("derived builds: unknown kind")
def _(ctx):
    out = str(ctx.tmp / "derived")
    return derived(
        ctx,
        "benign",
        "--build",
        str(ctx.build),
        "--out",
        out,
        expected=["invalid choice: 'benign'"],
    )


@case("tiny model: --out is a file")
def _(ctx):
    pytest.importorskip("transformers", reason="needs the [train] extra")
    from train_safety.train.tiny_model import main

    out = ctx.file("tiny.bin", "x")
    return Case(main, ["--out", out], [out, "field 'out'", "is a file"])


@case("gemma prepare: unknown flag")
def _(ctx):
    from train_safety.train.gemma import main

    return Case(main, ["prepare", "--force"], ["unrecognized arguments: --force"])


def inspect(ctx: Ctx, *task_args: str, expected: list[str]) -> Case:
    pytest.importorskip("inspect_ai", reason="needs the [inspect] extra")
    from train_safety.inspect_eval import main

    argv = ["--model", "mockllm/model", "-T", f"build={ctx.build}"]
    for item in task_args:
        argv += ["-T", item]
    return Case(main, argv, expected)


@case("inspect_eval: unknown format")
def _(ctx):
    return inspect(
        ctx, "formats=chat,poetry", expected=["field 'formats'", "unknown format 'poetry'"]
    )


@case("inspect_eval: negative cap")
def _(ctx):
    return inspect(ctx, "max_harmful_per_task=-1", expected=["field 'max_harmful_per_task'"])


@case("inspect_eval: missing build")
def _(ctx):
    missing = str(ctx.tmp / "no-build")
    return inspect(ctx, f"build={missing}", expected=[missing, "field 'build'"])


# ---------------------------------------------------------------- the sweep


def snapshot(folder: Path) -> dict[str, tuple[bool, int, int]]:
    return {
        str(path.relative_to(folder)): (path.is_dir(), path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


def test_the_sweep_covers_every_entry_point():
    entry_points = {name.split(":")[0] for name in CASES}
    assert len(CASES) >= 40
    assert {
        "build", "stats", "validate", "push", "sft", "evaluate", "judge", "ablate",
        "derived builds", "tiny model", "gemma prepare", "inspect_eval",
    } <= entry_points  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    name, default_build, tmp_path, monkeypatch, capsys
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PWD", str(work))
    monkeypatch.delenv("MTS_SWEEP_NO_SUCH_TOKEN", raising=False)
    ctx = Ctx(tmp=work, build=Path(default_build.out))
    made = CASES[name](ctx)
    if "unreadable" in name:
        real = Path.read_bytes

        def locked(path: Path) -> bytes:
            if path.name == "locked.csv":
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(Path, "read_bytes", locked)
    before = snapshot(work)
    build_before = (Path(default_build.out) / "manifest.json").read_bytes()
    capsys.readouterr()
    try:
        code = made.main(made.argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for expected in made.expected:
        assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"
    assert "HF_HUB_OFFLINE" not in lines[0]
    assert snapshot(work) == before, "something was written"
    assert (Path(default_build.out) / "manifest.json").read_bytes() == build_before
    print(f"{name} | {lines[0]}")  # the table in the report: pytest -s -k sweep


def test_validate_reports_a_nul_byte_in_a_built_folder(default_build, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from builders.multitask import main

    copy = tmp_path / "copy"
    shutil.copytree(default_build.out, copy)
    (shard,) = (copy / "chat").glob("train-*.parquet")
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[0]["messages"][0]["content"] += "\x00"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    assert main(["validate", str(copy)]) == 2
    err = capsys.readouterr().err
    assert f"{shard}: row 1: field 'messages' contains a NUL character" in err
    assert all(line.strip() for line in err.splitlines())


def test_two_builds_into_one_out_at_once_never_mix(tmp_path):
    """Both start on an empty --out; the one that finishes second finds it taken (no --force)
    and stops with one line; the folder is the first build, whole and valid."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    env = os.environ | {"PYTHONPATH": str(repo)}
    command = [sys.executable, "-m", "builders.multitask", "build", "--out", str(out)]
    command += ["--tasks", "chat,translation", "--no-progress"]
    runs = [
        subprocess.Popen(
            [*command, "--seed", str(seed)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    results = [(run.communicate(timeout=600)[1], run.returncode)[::-1] for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    for code, err in results:
        if code == 2:
            assert len(err.strip().splitlines()) == 1 and "output folder exists" in err
    from builders.export.validate import validate_folder

    assert validate_folder(out) == []
    winner = json.loads((out / "manifest.json").read_text())["build_config"]["seed"]
    assert winner in (1, 2)
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no temp or backup folder is left"


def test_two_forced_builds_into_one_out_leave_one_whole_build(tmp_path):
    """With --force both succeed; the folder is whichever finished last, never a mix."""
    import subprocess
    import sys

    from builders.export.validate import validate_folder

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    env = os.environ | {"PYTHONPATH": str(repo)}
    command = [sys.executable, "-m", "builders.multitask", "build", "--out", str(out), "--force"]
    command += ["--tasks", "chat", "--no-progress"]
    runs = [
        subprocess.Popen([*command, "--seed", str(seed)], env=env, stderr=subprocess.PIPE)
        for seed in (1, 2)
    ]
    assert [run.wait(timeout=600) for run in runs] == [0, 0]
    assert validate_folder(out) == []
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
