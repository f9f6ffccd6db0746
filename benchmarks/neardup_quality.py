"""Quality and speed of the near-duplicate stage on a labelled benchmark built from real seeds.

    python benchmarks/neardup_quality.py --shared ../shared/seeds [--sizes 10000 50000]
        [--datatrove-python /path/to/venv/bin/python]

Labelled pairs (nothing is written into the repository):
  positives      a real prompt and a perturbed copy: case, punctuation, typo, adjacent word swap,
                 instruction-verb synonym, paraphrase wrapper ("Can you …?"), inserted word, or two
                 of these at once;
  hard negatives pairs of HarmBench behaviours with fuzz.ratio >= 70 (HarmBench lists distinct
                 behaviours by construction: "… synthesizing X" vs "… synthesizing Y"), and
                 template siblings made by substituting one content word ("… letter A" / "… T");
  easy negatives random pairs of distinct real prompts.
All labelled texts go into one pool (padded with recombined synthetic prompts up to each size);
a pair is predicted positive when the method puts both texts in one cluster.

Methods: this package's NearDuplicateFinder; naive all-pairs rapidfuzz ``cdist`` (fuzz.ratio >= 85,
chunked, all cores); datatrove's MinHash dedup when ``--datatrove-python`` points to an env with it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_seeds import real_prompts, recombine

from builders.stages.dedup.minhash import NearDuplicateFinder, UnionFind, fold
from builders.stages.dedup.near import resolve_cluster

HERE = Path(__file__).resolve().parent
SYNONYMS = {
    "write": ["compose", "draft"],
    "create": ["develop", "make"],
    "give": ["provide", "offer"],
    "provide": ["give", "share"],
    "explain": ["describe"],
    "describe": ["explain"],
    "generate": ["produce"],
    "develop": ["create", "build"],
    "list": ["outline"],
    "outline": ["list"],
}
WRAPPERS = [
    "Can you {x}?",
    "Please {x}.",
    "I need you to {x}.",
    "{X} Step by step, please.",
    "Quick question: {x}",
    "Could you help me {x}?",
]
INSERTIONS = ["detailed", "simple", "quickly", "really", "please"]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def perturb(text: str, rng: random.Random, kind: str) -> str:
    words = text.split()
    if kind == "case":
        return rng.choice([text.lower(), text.upper(), text.title()])
    if kind == "punctuation":
        stripped = text.rstrip(".?!")
        return stripped + rng.choice(["?", "!", "...", ""]) if stripped != text else text + "."
    if kind == "typo":
        long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not long:
            return text + "."
        i = rng.choice(long)
        w, j = words[i], rng.randrange(1, len(words[i]) - 1)
        words[i] = rng.choice(
            [w[:j] + w[j + 1] + w[j] + w[j + 2 :], w[:j] + w[j + 1 :], w[:j] + w[j] + w[j:]]
        )
        return " ".join(words)
    if kind == "word_swap" and len(words) > 3:
        i = rng.randrange(1, len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    if kind == "synonym" and words[0].lower() in SYNONYMS:
        words[0] = rng.choice(SYNONYMS[words[0].lower()]).capitalize()
        return " ".join(words)
    if kind == "wrapper":
        core = text.rstrip(".?!")
        return rng.choice(WRAPPERS).format(x=_lower_first(core), X=text)
    if kind == "insert":
        words.insert(rng.randrange(1, len(words)), rng.choice(INSERTIONS))
        return " ".join(words)
    if kind == "two":
        first, second = rng.sample(
            ["case", "punctuation", "typo", "synonym", "wrapper", "insert"], 2
        )
        return perturb(perturb(text, rng, first), rng, second)
    return perturb(text, rng, "punctuation")


def sibling(text: str, rng: random.Random, vocabulary: list[str]) -> str | None:
    """Substitute one content word (not the first) with another corpus word or a letter/number."""
    words = text.split()
    slots = [i for i, w in enumerate(words) if i > 0 and len(w) >= 4 and w.isalpha()]
    if not slots:
        return None
    i = rng.choice(slots)
    replacement = rng.choice(vocabulary)
    if replacement.lower() == words[i].lower():
        return None
    words[i] = replacement
    return " ".join(words)


def labelled_pairs(shared: Path, seed: int = 0):
    rng = random.Random(seed)
    prompts = real_prompts(shared)
    prompts += pd.read_csv(shared / "xstest" / "xstest_prompts.csv")["prompt"].tolist()
    prompts = list(dict.fromkeys(p for p in prompts if isinstance(p, str)))
    vocabulary = sorted({w for p in prompts for w in p.split() if len(w) >= 5 and w.isalpha()})
    vocabulary += list(string.ascii_uppercase) + [str(n) for n in (2, 3, 5, 10, 50, 100)]
    texts = list(prompts)
    pairs: list[tuple[int, int, bool, str]] = []

    def add(text: str) -> int:
        texts.append(text)
        return len(texts) - 1

    kinds = ["case", "punctuation", "typo", "word_swap", "synonym", "wrapper", "insert", "two"]
    for index in rng.sample(range(len(prompts)), 1600):
        kind = kinds[len(pairs) % len(kinds)]
        pairs.append((index, add(perturb(prompts[index], rng, kind)), True, kind))
    for index in rng.sample(range(len(prompts)), 900):
        text = sibling(prompts[index], rng, vocabulary)
        if text:
            pairs.append((index, add(text), False, "sibling"))
    harmbench = pd.read_csv(shared / "harmbench" / "harmbench_behaviors_text_all.csv")["Behavior"]
    position = {p: i for i, p in enumerate(prompts)}
    behaviours = [b for b in dict.fromkeys(harmbench) if b in position]
    scores = process.cdist(behaviours, behaviours, scorer=fuzz.ratio, score_cutoff=70, workers=-1)
    for i, j in zip(*np.nonzero(np.triu(scores, 1)), strict=True):
        pairs.append((position[behaviours[i]], position[behaviours[j]], False, "harmbench_near"))
    for _ in range(1500):
        i, j = rng.sample(range(len(prompts)), 2)
        pairs.append((i, j, False, "random"))
    return texts, pairs


def clusters_from_pairs(size: int, edges) -> np.ndarray:
    union = UnionFind(size)
    for i, j in edges:
        union.union(int(i), int(j))
    return np.array([union.find(i) for i in range(size)])


def ours(texts: list[str]) -> np.ndarray:
    """Clusters as the stage resolves them: a dropped text joins the kept text it verified against."""
    finder = NearDuplicateFinder()
    folded = [fold(t) for t in texts]
    labels = np.arange(len(texts))
    for cluster in finder.clusters(folded):
        for kept, group in resolve_cluster(cluster, folded, finder.rule).items():
            labels[[index for index, _ in group]] = kept
    return labels


def naive_cdist(texts: list[str], cutoff: int = 85, chunk: int = 2000) -> np.ndarray:
    folded = [fold(t) for t in texts]
    edges = []
    for start in range(0, len(folded), chunk):
        block = process.cdist(
            folded[start : start + chunk],
            folded,
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            dtype=np.uint8,
            workers=-1,
        )
        rows, cols = np.nonzero(block)
        edges += [
            (start + r, c)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
            if start + r < c
        ]
    return clusters_from_pairs(len(texts), edges)


def datatrove_labels(texts: list[str], python: str, ngrams: int) -> tuple[np.ndarray, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "in" / "docs.jsonl"
        data.parent.mkdir()
        with data.open("w", encoding="utf-8") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"id": str(i), "text": text}) + "\n")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        output = subprocess.run(
            [
                python,
                str(HERE / "datatrove_minhash.py"),
                str(data),
                str(Path(tmp) / "work"),
                "--ngrams",
                str(ngrams),
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    labels = np.arange(len(texts))
    for doc_id, cluster in result["clusters"].items():
        labels[int(doc_id)] = -1 - int(cluster)
    return labels, result["seconds"]


def score(labels: np.ndarray, pairs) -> dict[str, float]:
    tp = sum(1 for i, j, y, _ in pairs if y and labels[i] == labels[j])
    fp = sum(1 for i, j, y, _ in pairs if not y and labels[i] == labels[j])
    fn = sum(1 for i, j, y, _ in pairs if y and labels[i] != labels[j])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def by_kind(labels: np.ndarray, pairs) -> str:
    kinds = sorted({kind for *_, kind in pairs})
    parts = []
    for kind in kinds:
        chosen = [p for p in pairs if p[3] == kind]
        agree = sum(1 for i, j, y, _ in chosen if (labels[i] == labels[j]) == y)
        parts.append(f"{kind} {agree}/{len(chosen)}")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 50_000])
    parser.add_argument("--datatrove-python", default=None)
    parser.add_argument("--datatrove-ngrams", type=int, nargs="+", default=[5, 2])
    parser.add_argument("--skip-naive-above", type=int, default=50_000)
    args = parser.parse_args()
    texts, pairs = labelled_pairs(args.shared)
    positives = sum(1 for p in pairs if p[2])
    print(
        f"labelled pairs: {positives} positive, {len(pairs) - positives} negative, pool {len(texts)}"
    )
    started = time.perf_counter()
    labels = ours(texts)
    seconds = time.perf_counter() - started
    result = score(labels, pairs)
    print(
        f"ours on the labelled pool: P {result['precision']:.3f} R {result['recall']:.3f} "
        f"F1 {result['f1']:.3f} ({seconds:.1f}s)"
    )
    print("  correct per kind: " + by_kind(labels, pairs))
    filler_source = real_prompts(args.shared)
    for size in args.sizes:
        filler = recombine(filler_source, max(0, size - len(texts)), seed=size)
        pool = texts + filler
        print(f"\npool of {len(pool)} prompts")
        runs = [("ours", ours)]
        if size <= args.skip_naive_above:
            runs.append(("naive cdist ratio>=85", naive_cdist))
        for name, method in runs:
            started = time.perf_counter()
            labels = method(pool)
            seconds = time.perf_counter() - started
            r = score(labels, pairs)
            print(
                f"  {name}: {seconds:.1f}s  P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f}",
                flush=True,
            )
        if args.datatrove_python:
            for ngrams in args.datatrove_ngrams:
                labels, seconds = datatrove_labels(pool, args.datatrove_python, ngrams)
                r = score(labels, pairs)
                print(
                    f"  datatrove minhash ({ngrams}-word grams, 14x8): {seconds:.1f}s  "
                    f"P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
