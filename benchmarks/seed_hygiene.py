"""How often the offline seed-hygiene check drops harmful and benign requests.

    python benchmarks/seed_hygiene.py [--shared ../shared/seeds] [--route keyword|embedding|both]

The check (``builders.stages.hygiene``) runs on imported harmful seeds without a dataset label;
here every request is treated that way. Sets (read from ``--shared`` at run time):

- harmful, should be kept: AdvBench, HarmBench (standard + contextual behaviours, copyright left
  out), XSTest's unsafe prompts, and the harmful rows of the hand-labelled held-out sample
  (``benchmarks/data/hazard_labels_heldout.tsv``);
- benign, should be dropped: XSTest's safe prompts (look-alikes written to fool exactly this),
  Safety-Tuned LLaMAs' I-Alpaca, 300 of the refusal-direction harmless instructions, and the
  held-out sample's rows labelled "none".

Prints the share dropped per set and route, and a few dropped harmful requests.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from hazard_labels import HELDOUT, _sha12, _source_prompts  # noqa: E402

from builders.schema import Seed  # noqa: E402
from builders.seeds.hazards import label_request, seed_fields  # noqa: E402
from builders.stages.hygiene import lookalike_evidence, needs_vector  # noqa: E402


def sets(shared: Path) -> dict[str, tuple[bool, list[str]]]:
    """name → (harmful?, prompts)."""
    with open(shared / "advbench/harmful_behaviors.csv", encoding="utf-8") as handle:
        advbench = [row["goal"] for row in csv.DictReader(handle)]
    with open(shared / "harmbench/harmbench_behaviors_text_all.csv", encoding="utf-8") as handle:
        harmbench = [
            r["Behavior"] for r in csv.DictReader(handle) if r["SemanticCategory"] != "copyright"
        ]
    with open(shared / "xstest/xstest_prompts.csv", encoding="utf-8") as handle:
        xstest = list(csv.DictReader(handle))
    alpaca = json.loads((shared / "safety_tuned_llamas/I-Alpaca.json").read_text("utf-8"))
    harmless = json.loads(
        (shared / "refusal_direction_harmless/harmless_test.json").read_text("utf-8")
    )
    sample_harmful, sample_none = [], []
    prompts = _source_prompts(shared)
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("dataset\t"):
            continue
        dataset, row, sha12, codes = line.split("\t")
        prompt = prompts[dataset][int(row) - 1]
        assert _sha12(prompt) == sha12
        if codes == "none":
            sample_none.append(prompt)
        elif "none" not in codes.split("|"):
            sample_harmful.append(prompt)
    return {
        "advbench": (True, advbench),
        "harmbench": (True, harmbench),
        "xstest_unsafe": (True, [r["prompt"] for r in xstest if r["label"] == "unsafe"]),
        "heldout_harmful": (True, sample_harmful),
        "xstest_safe": (False, [r["prompt"] for r in xstest if r["label"] == "safe"]),
        "stl_i_alpaca": (False, alpaca["instructions"]),
        "harmless_300": (False, [x["instruction"] for x in random.Random(0).sample(harmless, 300)]),
        "heldout_none": (False, sample_none),
    }


def seed_of(prompt: str) -> Seed:
    return Seed(
        prompt=prompt, source="benchmark", license="-", **seed_fields(label_request(prompt))
    )


def dropped(prompts: list[str], route: str) -> list[str | None]:
    seeds = [seed_of(prompt) for prompt in prompts]
    index = None
    vectors: dict[int, object] = {}
    if route == "embedding":
        from builders.embeddings import load_embedder
        from builders.stages.hygiene import LookalikeIndex

        index = LookalikeIndex(load_embedder())
        wanted = [i for i, seed in enumerate(seeds) if needs_vector(seed)]
        vectors = dict(zip(wanted, index.embed([prompts[i] for i in wanted]), strict=True))
    return [lookalike_evidence(seed, index, vectors.get(i)) for i, seed in enumerate(seeds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--route", choices=("keyword", "embedding", "both"), default="both")
    args = parser.parse_args()
    data = sets(args.shared)
    routes = ["keyword", "embedding"] if args.route == "both" else [args.route]
    for route in routes:
        started = time.perf_counter()
        print(f"route={route}")
        for name, (harmful, prompts) in data.items():
            verdicts = dropped(prompts, route)
            share = sum(v is not None for v in verdicts) / len(prompts)
            goal = "kept" if harmful else "dropped"
            print(f"  {name:16s} n={len(prompts):4d}  dropped={share:.3f}  (should be {goal})")
            if harmful:
                for prompt, verdict in zip(prompts, verdicts, strict=True):
                    if verdict:
                        print(f"      dropped harmful: {prompt[:80]!r} — {verdict[:60]}")
        print(f"  ({time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
