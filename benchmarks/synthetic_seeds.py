"""Synthetic harmful seed sets that look real: recombined pieces of the shared seed prompts.

    python benchmarks/synthetic_seeds.py --shared ../shared/seeds --count 100000 --out /tmp/seeds.jsonl

Each synthetic prompt joins the first third of one real prompt, the middle of a second and the end
of a third (cut at word boundaries), so length, vocabulary and phrasing follow the real sources.
Nothing is written into the repository: the output goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pandas as pd


def real_prompts(shared: Path) -> list[str]:
    """Harmful prompts from AdvBench, HarmBench and Safety-Tuned LLaMAs (deduplicated, in order)."""
    prompts: list[str] = []
    prompts += pd.read_csv(shared / "advbench" / "harmful_behaviors.csv")["goal"].tolist()
    prompts += pd.read_csv(shared / "harmbench" / "harmbench_behaviors_text_all.csv")[
        "Behavior"
    ].tolist()
    stl = json.loads(
        (shared / "safety_tuned_llamas" / "safety_only_data_Instructions.json").read_text()
    )
    prompts += [row["instruction"] for row in stl]
    seen: set[str] = set()
    unique = []
    for prompt in prompts:
        if isinstance(prompt, str) and 3 <= len(prompt.split()) <= 60 and prompt not in seen:
            seen.add(prompt)
            unique.append(prompt)
    return unique


def recombine(prompts: list[str], count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = [prompt.split() for prompt in prompts]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        a, b, c = (rng.choice(words) for _ in range(3))
        text = " ".join(
            a[: max(1, len(a) // 3)]
            + b[len(b) // 3 : max(len(b) // 3 + 1, 2 * len(b) // 3)]
            + c[max(1, 2 * len(c) // 3) :]
        )
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    prompts = recombine(real_prompts(args.shared), args.count, args.seed)
    with args.out.open("w", encoding="utf-8") as handle:
        for prompt in prompts:
            handle.write(json.dumps({"prompt": prompt}) + "\n")
    print(f"wrote {len(prompts)} synthetic seeds to {args.out}")


if __name__ == "__main__":
    main()
