"""Hub presets through the real ``datasets.load_dataset`` path, against a local fake Hub.

HF libraries read ``HF_ENDPOINT`` and the offline flags at import time, and conftest.py makes
this test session offline, so each load runs in a subprocess pointed at the fake Hub.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fake_hub import FakeHub, online_env

REPO = Path(__file__).resolve().parents[1]
PROMPTS = [f"Write a request number {i} for the test." for i in (1, 2, 3)]
TARGETS = [f"Placeholder target {i}." for i in (1, 2, 3)]

LOAD = """
import json, sys
from builders.errors import InputError
from builders.seeds import load_seed_spec

try:
    source = load_seed_spec(sys.argv[1])
except InputError as error:
    print(json.dumps({"error": str(error)}))
else:
    seeds = [{k: v for k, v in vars(s).items()} for s in source.seeds]
    print(json.dumps({"seeds": seeds, "files": source.files, "skipped": source.skipped}))
"""


def parquet(columns: dict[str, list[str]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def load_via_hub(hub: FakeHub, spec: str, tmp_path: Path) -> dict:
    env = online_env(hub.url, tmp_path / "hf")
    result = subprocess.run(
        [sys.executable, "-c", LOAD, spec],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_advbench_from_the_hub(fake_hub, tmp_path):
    parquet_path = "data/train-00000-of-00001.parquet"
    fake_hub.add_repo(
        "walledai/AdvBench", {parquet_path: parquet({"prompt": PROMPTS, "target": TARGETS})}
    )
    out = load_via_hub(fake_hub, "advbench", tmp_path)
    assert [s["prompt"] for s in out["seeds"]] == PROMPTS
    assert out["skipped"] == {}
    for seed in out["seeds"]:
        assert (seed["source"], seed["license"], seed["kind"]) == ("advbench", "mit", "harmful")
        assert seed["refusal"] is None and seed["answer"] is None
        assert not any(t in json.dumps(seed) for t in TARGETS), "target is never kept"
    (entry,) = out["files"]
    assert (entry["hub_id"], entry["config"], entry["split"]) == (
        "walledai/AdvBench",
        "default",
        "train",
    )
    assert entry["fingerprint"]
    paths = fake_hub.paths()
    assert "/api/datasets/walledai/AdvBench" in paths
    assert any(p.startswith("/api/datasets/walledai/AdvBench/tree/") for p in paths)
    assert any(p.endswith(f"/{parquet_path}") for p in fake_hub.paths("HEAD"))
    resolves = [p for p in fake_hub.paths("GET") if "/resolve/" in p]
    assert resolves and all(p.endswith(parquet_path) for p in resolves)
    assert all(p.startswith(("/api/datasets/", "/datasets/")) for p in paths)


def test_unknown_hub_repo_is_a_build_input_error(fake_hub, tmp_path):
    out = load_via_hub(fake_hub, "advbench", tmp_path)
    message = out["error"]
    assert "\n" not in message
    assert "walledai/AdvBench" in message and "advbench=PATH" in message
    assert "harmful_behaviors.csv" in message
    assert fake_hub.requests, "the client asked the fake Hub"
    assert all("walledai/AdvBench" in p for _, p in fake_hub.requests)


def test_harmbench_configs_from_the_hub(fake_hub, tmp_path):
    readme = "---\nconfigs:\n" + "".join(
        f"- config_name: {c}\n  data_files:\n  - split: train\n    path: {c}/train-*\n"
        for c in ("standard", "contextual", "copyright")
    )
    fake_hub.add_repo(
        "walledai/HarmBench",
        {
            "README.md": (readme + "---\n# HarmBench (test copy)\n").encode(),
            "standard/train-00000-of-00001.parquet": parquet(
                {"prompt": [PROMPTS[0]], "category": ["misinformation_disinformation"]}
            ),
            "contextual/train-00000-of-00001.parquet": parquet(
                {
                    "prompt": [PROMPTS[1]],
                    "context": ["Placeholder context."],
                    "category": ["illegal"],
                }
            ),
            "copyright/train-00000-of-00001.parquet": parquet(
                {"prompt": [PROMPTS[2]], "tags": ["book"]}
            ),
        },
    )
    out = load_via_hub(fake_hub, "harmbench", tmp_path)
    assert [s["prompt"] for s in out["seeds"]] == [
        PROMPTS[0],
        f"Placeholder context.\n\n{PROMPTS[1]}",
    ]
    assert [s["category"] for s in out["seeds"]] == ["S5", "S2"]
    assert [(f["hub_id"], f["config"]) for f in out["files"]] == [
        ("walledai/HarmBench", "standard"),
        ("walledai/HarmBench", "contextual"),
    ]
    resolves = {p for p in fake_hub.paths("GET") if "/resolve/" in p}
    assert not any("copyright/" in p for p in resolves), "the copyright config is never loaded"
    assert any(p.endswith("standard/train-00000-of-00001.parquet") for p in resolves)
    assert any(p.endswith("contextual/train-00000-of-00001.parquet") for p in resolves)
