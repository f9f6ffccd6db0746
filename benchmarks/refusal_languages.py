"""How composed refusals fare with the builder's language filter, per language.

    python benchmarks/refusal_languages.py [--samples 400] [--seed 0] [--languages zh,nl]

For each language of templates/refusal_parts.yaml, composes ``--samples`` random refusals (any
style, any reason including ``generic``, any task's redirect), scores each with the language filter's
seeded langdetect (``builders.language.language_score``) and prints how many would be dropped at
the build's default threshold (0.5), the lowest score and the lowest-scoring refusal. langdetect reads
only the first 400 characters, i.e. the decline and usually the reason.
"""

from __future__ import annotations

import argparse
import random

from builders.config import BuildConfig
from builders.language import language_score
from builders.tasks.templates import load_library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--languages", default="", help="comma separated (default: all)")
    args = parser.parse_args()
    from langdetect import DetectorFactory

    DetectorFactory.seed = args.seed
    threshold = BuildConfig().language_min_score
    library = load_library()
    print(f"language  samples  dropped (< {threshold})  min score  mean score")
    worst_texts = []
    wanted = set(args.languages.split(",")) if args.languages else None
    for code, parts in library.refusal_parts.languages.items():
        if wanted is not None and code not in wanted:
            continue
        rng = random.Random(f"{args.seed}-{code}")
        expected = library.languages[code].langdetect
        scores = []
        for _ in range(args.samples):
            text = parts.separator.join(
                (
                    rng.choice(parts.declines[rng.choice(list(parts.declines))]),
                    rng.choice(parts.reasons[rng.choice(list(parts.reasons))]),
                    rng.choice(parts.redirects[rng.choice(list(parts.redirects))]),
                )
            )
            scores.append((language_score(text, expected), text))
        dropped = sum(score < threshold for score, _ in scores)
        low, text = min(scores)
        worst_texts.append((code, low, text))
        mean = sum(score for score, _ in scores) / len(scores)
        print(f"{code:8}  {len(scores):7}  {dropped:20}  {low:9.3f}  {mean:10.3f}")
    print("\nlowest-scoring refusal per language:")
    for code, low, text in worst_texts:
        print(f"  {code} {low:.3f}: {text}")


if __name__ == "__main__":
    main()
