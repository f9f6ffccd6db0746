"""Accuracy of the hazard labels of seeds that carry no dataset label (keyword and embedding routes).

    python benchmarks/hazard_labels.py [--shared ../shared/seeds] [--route keyword|embedding|both]
        [--write]

Labelled sets, none of them among the categorizer's exemplars (``builders/seeds/data/``):

- ``heldout``: 240 public seeds (70 AdvBench, 30 HarmBench, 140 Safety-Tuned LLaMAs), labelled by
  hand against the Llama Guard 3 definitions before the rules were extended and never used to
  tune them (``benchmarks/data/hazard_labels_heldout.tsv``: rows and hashes, no sentences;
  "A|B" = either code is right; the 26 "none" rows are not harmful and are left out here).
- ``harmbench``: HarmBench's own ``SemanticCategory`` (standard behaviours, copyright left out),
  mapped to the codes each category covers: chemical_biological → S9/S2 (drug syntheses),
  cybercrime_intrusion → S2/S14, misinformation_disinformation → S5/S13/S10,
  harassment_bullying → S10/S3/S7. "illegal" and "harmful" cover most codes and are left out.
- ``dev``: dataset labels the rules were written against (so not held out): Safety-Tuned
  LLaMAs' I-CoNa, I-Controversial and I-MaliciousInstructions "hate" (S10),
  I-PhysicalSafetyUnsafe (S6), XSTest contrast_discr (S10) and contrast_privacy (S7).

A label is right when its code is among the set's codes; ``fallback`` labels count as wrong
unless their guess is right. ``--write`` stores the numbers in
``builders/seeds/data/hazard_accuracy.json``, which the data card quotes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builders.schema import normalize_text  # noqa: E402
from builders.seeds.hazards import label_request  # noqa: E402

HELDOUT = REPO / "benchmarks" / "data" / "hazard_labels_heldout.tsv"
ACCURACY_FILE = REPO / "builders" / "seeds" / "data" / "hazard_accuracy.json"
HARMBENCH_CODES = {
    "chemical_biological": {"S9", "S2"},
    "cybercrime_intrusion": {"S2", "S14"},
    "misinformation_disinformation": {"S5", "S13", "S10"},
    "harassment_bullying": {"S10", "S3", "S7"},
}

Item = tuple[str, str, frozenset[str]]  # (group, prompt, right codes)


def _sha12(prompt: str) -> str:
    return hashlib.sha256(normalize_text(prompt).encode()).hexdigest()[:12]


def _source_prompts(shared: Path) -> dict[str, list[str]]:
    with open(shared / "advbench/harmful_behaviors.csv", encoding="utf-8") as handle:
        advbench = [row["goal"] for row in csv.DictReader(handle)]
    with open(shared / "harmbench/harmbench_behaviors_text_all.csv", encoding="utf-8") as handle:
        harmbench = [row["Behavior"] for row in csv.DictReader(handle)]
    stl = json.loads(
        (shared / "safety_tuned_llamas/safety_only_data_Instructions.json").read_text("utf-8")
    )
    return {
        "advbench": advbench,
        "harmbench": harmbench,
        "safety-tuned-llamas": [f"{r['instruction']} {r['input']}".strip() for r in stl],
    }


def heldout_items(shared: Path) -> list[Item]:
    prompts = _source_prompts(shared)
    items = []
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("dataset\t"):
            continue
        dataset, row, sha12, codes = line.split("\t")
        prompt = prompts[dataset][int(row) - 1]
        if _sha12(prompt) != sha12:
            raise SystemExit(f"{HELDOUT}: {dataset} row {row} does not match its hash")
        if codes != "none" and "none" not in codes.split("|"):
            items.append((f"heldout:{dataset}", prompt, frozenset(codes.split("|"))))
    return items


def harmbench_items(shared: Path) -> list[Item]:
    with open(shared / "harmbench/harmbench_behaviors_text_all.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        (f"harmbench:{row['SemanticCategory']}", row["Behavior"], frozenset(codes))
        for row in rows
        if row["FunctionalCategory"] == "standard"
        and (codes := HARMBENCH_CODES.get(row["SemanticCategory"]))
    ]


def dev_items(shared: Path) -> list[Item]:
    stl = shared / "safety_tuned_llamas"
    items: list[Item] = []
    for name, code in (
        ("I-CoNa", "S10"),
        ("I-Controversial", "S10"),
        ("I-PhysicalSafetyUnsafe", "S6"),
    ):
        data = json.loads((stl / f"{name}.json").read_text("utf-8"))
        items += [(f"dev:{name}", p, frozenset({code})) for p in data["instructions"]]
    data = json.loads((stl / "I-MaliciousInstructions.json").read_text("utf-8"))
    items += [
        ("dev:I-MaliciousInstructions-hate", p, frozenset({"S10"}))
        for p, tag in zip(data["instructions"], data["tags"], strict=True)
        if tag == "hate"
    ]
    with open(shared / "xstest/xstest_prompts.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = {"contrast_discr": "S10", "contrast_privacy": "S7"}.get(row["type"])
            if code:
                items.append((f"dev:xstest-{row['type']}", row["prompt"], frozenset({code})))
    return items


def keyword_labels(prompts: list[str]):
    return [label_request(prompt) for prompt in prompts]


def embedding_labels(prompts: list[str]):
    from builders.embeddings import load_embedder
    from builders.schema import Seed
    from builders.stages.categorize import ExemplarIndex, embedding_label, needs_embedding

    index = ExemplarIndex(load_embedder())
    labels = keyword_labels(prompts)
    seeds = [
        Seed(
            prompt=p,
            category=label.code,
            category_source=label.source,
            category_confidence=label.confidence,
            source="benchmark",
            license="-",
        )
        for p, label in zip(prompts, labels, strict=True)
    ]
    todo = [i for i, seed in enumerate(seeds) if needs_embedding(seed)]
    vectors = index.embed([prompts[i] for i in todo])
    for i, vector in zip(todo, vectors, strict=True):
        new = embedding_label(seeds[i], index.vote(vector))
        if new is not None:
            labels[i] = new
    return labels


def score(items: list[Item], labels) -> dict:
    per_group: dict[str, Counter[str]] = defaultdict(Counter)
    sources: Counter[str] = Counter()
    for (group, _, right), label in zip(items, labels, strict=True):
        counts = per_group[group.split(":")[0]]
        counts["n"] += 1
        counts["right"] += label.code in right
        counts[label.source] += 1
        sources[label.source] += 1
    result = {}
    for group, counts in per_group.items():
        n = counts["n"]
        decided = n - counts["fallback"]
        result[group] = {
            "n": n,
            "accuracy": round(counts["right"] / n, 3),
            "fallback": round(counts["fallback"] / n, 3),
            "sources": {s: counts[s] for s in ("rule", "embedding", "fallback") if counts[s]},
            "decided": decided,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "seeds")
    parser.add_argument("--route", choices=("keyword", "embedding", "both"), default="both")
    parser.add_argument(
        "--write", action="store_true", help=f"store the numbers in {ACCURACY_FILE}"
    )
    parser.add_argument("--errors", type=int, default=0, help="print N wrong dev labels")
    args = parser.parse_args()
    items = heldout_items(args.shared) + harmbench_items(args.shared) + dev_items(args.shared)
    prompts = [prompt for _, prompt, _ in items]
    routes = ["keyword", "embedding"] if args.route == "both" else [args.route]
    results = {}
    for route in routes:
        started = time.perf_counter()
        labels = keyword_labels(prompts) if route == "keyword" else embedding_labels(prompts)
        results[route] = score(items, labels)
        print(f"route={route}  ({time.perf_counter() - started:.1f}s)")
        for group, numbers in results[route].items():
            print(
                f"  {group:10s} n={numbers['n']:4d}  accuracy={numbers['accuracy']:.3f}  "
                f"fallback={numbers['fallback']:.3f}  sources={numbers['sources']}"
            )
        shown = 0
        for (group, prompt, right), label in zip(items, labels, strict=True):
            if shown < args.errors and group.startswith("dev") and label.code not in right:
                print(
                    f"    {group} {label.code} ({label.detail[:40]}) not {sorted(right)}: {prompt[:90]}"
                )
                shown += 1
    if args.write:
        previous = json.loads(ACCURACY_FILE.read_text()) if ACCURACY_FILE.is_file() else {}
        previous.update(results)
        ACCURACY_FILE.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
        print(f"wrote {ACCURACY_FILE}")


if __name__ == "__main__":
    main()
