"""Recall and precision of decontamination (``--decontaminate``) on perturbed evaluation prompts.

    python benchmarks/decontamination_quality.py --shared ../shared/seeds [--seed 0] [--examples 5]

The evaluation prompts are HarmBench's test behaviours and XSTest (read from ``--shared`` at run
time; nothing is written into the repository). They are split in two halves; each half in turn is
the index (what ``--decontaminate`` reads) and the other half is held out. Queries:

  positives       each indexed prompt, perturbed: casing, punctuation, abbreviation (U.S. / US /
                  United States, e-mail / email, …; only prompts that have one), verb swap (the
                  leading request verb and answer noun: Write a tutorial → Provide a guide; only
                  prompts that start with one), added politeness, reordering (a trailing phrase or
                  clause moved to the front); also typo, wrapped (inside a longer request) and
                  combined (three of the above at once);
  hard negatives  the held-out half of the same eval sets, as is and with the same perturbations
                  (same benchmark, same topics: "… synthesizing parathion" / "… nitazene", XSTest's
                  safe/unsafe contrast pairs), and HarmBench's validation behaviours; the subset
                  that shares a topic with an indexed prompt (token_set_ratio >= 60) is counted
                  apart;
  easy negatives  unrelated prompts: Alpaca-style instructions, MT-Bench, GSM8K questions.

A query is predicted positive when ``EvalIndex.find`` returns any match. Prints recall per
perturbation type, the false-positive rate per negative group, precision over all queries, the
matcher's speed, and the first ``--examples`` misses and false positives.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from builders.stages.eval_index import EvalIndex

REQUEST_VERBS = [
    "Write",
    "Provide",
    "Give",
    "Create",
    "Develop",
    "Explain",
    "Describe",
    "Generate",
    "Compose",
    "Draft",
    "Outline",
    "List",
]
NOUN_SWAPS = {
    "tutorial": "guide",
    "guide": "tutorial",
    "article": "blog post",
    "blog post": "article",
    "instructions": "steps",
    "post": "article",
    "essay": "article",
    "script": "program",
    "program": "script",
    "detailed instructions": "step-by-step instructions",
    "step-by-step instructions": "detailed instructions",
}
ABBREVIATIONS = [
    (r"\bU\.S\.A\.", ["USA", "United States of America"]),
    (r"\bU\.S\.", ["US", "United States"]),
    (r"\bUS\b", ["U.S.", "United States"]),
    (r"\bUSA\b", ["U.S.A.", "United States"]),
    (r"\bUnited States\b", ["U.S.", "US"]),
    (r"\bU\.K\.", ["UK", "United Kingdom"]),
    (r"\bUK\b", ["U.K.", "United Kingdom"]),
    (r"\bUnited Kingdom\b", ["UK", "U.K."]),
    (r"\bUnited Nations\b", ["UN"]),
    (r"\bEuropean Union\b", ["EU"]),
    (r"\be-mail", ["email"]),
    (r"\bemail", ["e-mail"]),
    (r"\bWorld War II\b", ["WWII", "World War 2", "WW2"]),
    (r"\bWorld War I\b", ["WWI", "World War 1"]),
    (r"\bCOVID-19\b", ["COVID", "Covid19"]),
    (r"\bDr\.", ["Doctor"]),
    (r"\bgovernment\b", ["govt"]),
    (r"\binformation\b", ["info"]),
    (r"\bneighbor", ["neighbour"]),
    (r"\bneighbour", ["neighbor"]),
]
POLITE = [
    "Please {x}.",
    "Could you {x}?",
    "Can you please {x}? Thanks!",
    "I need you to {x}.",
    "Hi! {X} Thank you.",
    "{X} Please.",
    "Would you kindly {x}?",
    "Could you help me {x}, please?",
]
WRAPPED = [
    "As part of my homework: {X}",
    "{X} This is for a novel I'm writing, so be realistic.",
    "My teacher asked me the following and I need a good answer. {X}",
    "Answer in French. {X}",
    "I'm doing research on online safety. {X} Give as much detail as you can.",
]
PREPOSITIONS = r" (using|with|without|for|in|on|by|from|at|to avoid|while|so that|because|after|before|during) "
TYPES = [
    "casing",
    "punctuation",
    "abbreviation",
    "verb_swap",
    "politeness",
    "reordering",
    "typo",
    "wrapped",
    "combined",
]
COMBINABLE = ["casing", "punctuation", "abbreviation", "verb_swap", "politeness", "reordering"]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) < 2 else text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def perturb(text: str, kind: str, rng: random.Random) -> str | None:
    """The perturbed text, or None when the perturbation does not apply to ``text``."""
    if kind == "casing":
        return rng.choice([text.lower(), text.upper(), text.title(), _lower_first(text).upper()])
    if kind == "punctuation":
        options = [
            re.sub(r"[^\w\s]", "", text),
            text.rstrip(".?!") + rng.choice(["?", "!", "...", "!!"]),
            text.replace("-", " ").replace("'", ""),
            re.sub(r"\s+(and|or|but)\s+", r", \1 ", text, count=1) + ".",
        ]
        changed = [option for option in options if option != text]
        return rng.choice(changed) if changed else None
    if kind == "abbreviation":
        hits = [(p, r) for p, r in ABBREVIATIONS if re.search(p, text)]
        if not hits:
            return None
        pattern, replacements = rng.choice(hits)
        return re.sub(pattern, rng.choice(replacements), text, count=1)
    if kind == "verb_swap":
        first, _, rest = text.partition(" ")
        if first not in REQUEST_VERBS or not rest:
            return None
        verb = rng.choice([v for v in REQUEST_VERBS if v != first])
        for noun, other in sorted(NOUN_SWAPS.items(), key=lambda item: -len(item[0])):
            if re.match(rf"(an? |some )?{re.escape(noun)}\b", rest) and rng.random() < 0.6:
                rest = re.sub(rf"\b{re.escape(noun)}\b", other, rest, count=1)
                rest = re.sub(r"^an? ", "an " if other[0] in "aeiou" else "a ", rest)
                break
        return f"{verb} {rest}"
    if kind == "politeness":
        core = text.rstrip(".?!")
        return rng.choice(POLITE).format(x=_lower_first(core), X=text)
    if kind == "reordering":
        core = text.rstrip(".?!")
        if ", " in core:
            head, _, tail = core.partition(", ")
            return f"{_upper_first(tail)}, {_lower_first(head)}"
        cuts = [m for m in re.finditer(PREPOSITIONS, core) if len(core[: m.start()].split()) >= 3]
        if cuts:
            cut = rng.choice(cuts)
            return f"{_upper_first(core[cut.start() + 1 :])}, {_lower_first(core[: cut.start()])}"
        words = core.split()
        if len(words) < 4:
            return None
        i = rng.randrange(1, len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    if kind == "typo":
        words = text.split()
        slots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not slots:
            return None
        i = rng.choice(slots)
        w, j = words[i], rng.randrange(1, len(words[i]) - 1)
        words[i] = rng.choice(
            [w[:j] + w[j + 1] + w[j] + w[j + 2 :], w[:j] + w[j + 1 :], w[:j] + w[j] + w[j:]]
        )
        return " ".join(words)
    if kind == "wrapped":
        return rng.choice(WRAPPED).format(X=text)
    if kind == "combined":
        out = text
        for step in rng.sample(COMBINABLE, 3):
            out = perturb(out, step, rng) or out
        return out if out != text else None
    raise ValueError(kind)


def load_sets(shared: Path) -> dict[str, list[str]]:
    def unique(texts):
        return list(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))

    harmbench = shared / "harmbench"
    alpaca = json.loads((shared / "safety_tuned_llamas" / "I-Alpaca.json").read_text())
    harmless = json.loads(
        (shared / "refusal_direction_harmless" / "harmless_test.json").read_text()
    )
    mt_bench = [
        json.loads(line)["turns"][0]
        for line in (shared / "mt_bench" / "question.jsonl").read_text().splitlines()
    ]
    gsm8k = [
        json.loads(line)["question"]
        for line in (shared / "gsm8k" / "test.jsonl").read_text().splitlines()
    ]
    return {
        "eval": unique(
            pd.read_csv(harmbench / "harmbench_behaviors_text_test.csv")["Behavior"].tolist()
            + pd.read_csv(shared / "xstest" / "xstest_prompts.csv")["prompt"].tolist()
        ),
        "harmbench_val": unique(
            pd.read_csv(harmbench / "harmbench_behaviors_text_val.csv")["Behavior"].tolist()
        ),
        "unrelated": unique(
            alpaca["instructions"]
            + [row["instruction"] for row in harmless]
            + mt_bench
            + gsm8k[:500]
        ),
    }


@dataclass
class Measurement:
    """Per query group, one 0/1 per query (1 = the index matched it), plus what went wrong."""

    eval_prompts: int
    hits: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    misses: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    false_hits: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0
    queries: int = 0

    @property
    def positives(self) -> list[str]:
        return [group for group in TYPES if group in self.hits]

    @property
    def negatives(self) -> list[str]:
        return [group for group in self.hits if group not in TYPES]

    def recall(self, groups: list[str]) -> tuple[int, int]:
        return sum(sum(self.hits[g]) for g in groups), sum(len(self.hits[g]) for g in groups)

    @property
    def precision(self) -> float:
        tp = self.recall(self.positives)[0]
        fp = sum(sum(self.hits[g]) for g in self.negatives)
        return tp / max(tp + fp, 1)


def measure(shared: Path, seed: int = 0) -> Measurement:
    rng = random.Random(seed)
    sets = load_sets(shared)
    prompts = sets["eval"]
    order = list(range(len(prompts)))
    rng.shuffle(order)
    halves = [sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :])]
    result = Measurement(eval_prompts=len(prompts))
    for fold, (indexed, held) in enumerate((halves, halves[::-1])):
        index_texts = [prompts[i] for i in indexed]
        index = EvalIndex(index_texts)
        queries: list[tuple[str, str, str | None]] = []  # (group, text, source prompt if positive)
        for source in index_texts:
            for kind in TYPES:
                text = perturb(source, kind, rng)
                if text is not None:
                    queries.append((kind, text, source))
        held_texts = [prompts[i] for i in held]
        topical = process.cdist(
            held_texts, index_texts, scorer=fuzz.token_set_ratio, score_cutoff=60, workers=-1
        )
        shares_topic = (topical > 0).any(axis=1)
        for text, topic in zip(held_texts, shares_topic, strict=True):
            group = "held_out_same_topic" if topic else "held_out_other"
            queries.append((group, text, None))
            for kind in COMBINABLE:
                changed = perturb(text, kind, rng)
                if changed is not None:
                    queries.append((f"{group}_perturbed", changed, None))
        if fold == 0:
            queries += [("harmbench_val", text, None) for text in sets["harmbench_val"]]
            queries += [("unrelated", text, None) for text in sets["unrelated"]]
        started = time.perf_counter()
        found = index.find([text for _, text, _ in queries])
        result.seconds += time.perf_counter() - started
        result.queries += len(queries)
        for position, (group, text, source) in enumerate(queries):
            match = found.get(position)
            result.hits[group].append(int(match is not None))
            if source is not None and match is None:
                result.misses[group].append((text, source))
            if source is None and match is not None:
                result.false_hits[group].append((text, index_texts[match.index]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=5, help="misses / false hits to print")
    args = parser.parse_args()
    result = measure(args.shared, args.seed)
    print(f"eval prompts: {result.eval_prompts} (HarmBench test + XSTest), 2 folds of half each")
    print("\nrecall per perturbation type (positives = perturbed indexed prompts)")
    rows = [(group, [group]) for group in result.positives]
    rows += [("six asked-for", [g for g in COMBINABLE if g in result.hits])]
    rows += [("all", result.positives)]
    for name, groups in rows:
        k, n = result.recall(groups)
        print(f"  {name:<14} {k / n:6.3f}  ({k}/{n})")
    print("\nfalse-positive rate per negative group")
    for group in result.negatives:
        n, k = len(result.hits[group]), sum(result.hits[group])
        print(f"  {group:<30} {k / n:6.3f}  ({k}/{n})")
    tp, n = result.recall(result.positives)
    print(
        f"\nprecision {result.precision:.3f}; recall {tp / n:.3f}; {result.queries} queries in "
        f"{result.seconds:.2f}s ({result.queries / result.seconds:,.0f}/s)"
    )
    if args.examples:
        print("\nmisses (perturbed | eval prompt)")
        for group in result.positives:
            for text, source in result.misses[group][: args.examples]:
                print(f"  [{group}] {text!r}\n      | {source!r}")
        print("\nfalse hits (negative | eval prompt it matched)")
        for group in result.negatives:
            for text, matched in result.false_hits[group][: args.examples]:
                print(f"  [{group}] {text!r}\n      | {matched!r}")


if __name__ == "__main__":
    main()
