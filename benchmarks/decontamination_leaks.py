"""Leak audit of a built dataset: does any user prompt still contain or near-duplicate an eval prompt?

    python benchmarks/decontamination_leaks.py BUILD_DIR EVAL_FILE[:COLUMN] ... [--show 10]

Independent of the build's lookup (nothing the build computed is reused, only its normalization
and match rule); prints counts and the first ``--show`` pairs of each check:

  rule, exhaustive     ``EvalIndex.find_exhaustive``: the decontamination rule (same request,
                       token containment, fuzzy) over every (row, eval prompt) pair, with the
                       fuzzy test on every row (the build runs it only on seeds and on rows a
                       backend wrote); a leak here is a miss of the build's index;
  plain substring      the eval prompt, folded (case and punctuation only), inside the folded
                       user prompt on word boundaries (prompts of three words or more);
  plain fuzzy >= 90    rapidfuzz ratio / token_sort_ratio >= 90 between the folded seeds as asked
                       (chat rows) and the folded eval prompts, without normalization;
  review (looser)      token_set_ratio >= 90 between normalized cores of four words or more
                       (chat rows): a superset of what the rule calls a match, to read by eye.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pyarrow.parquet as pq
from rapidfuzz import fuzz, process

from builders.stages.dedup.minhash import fold
from builders.stages.eval_index import EvalIndex
from builders.stages.eval_sets import load_eval_sets
from builders.stages.eval_text import normalize


def _pairs(scores: np.ndarray) -> list[tuple[int, int]]:
    rows, columns = np.nonzero(scores)
    return sorted(zip(rows.tolist(), columns.tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("evals", nargs="+", help="evaluation files, as for --decontaminate")
    parser.add_argument("--show", type=int, default=10, help="pairs to print per check")
    args = parser.parse_args()
    rows = pq.read_table(args.build / "all").to_pylist()
    user = [next(m["content"] for m in row["messages"] if m["role"] == "user") for row in rows]
    prompts = sorted(set(user))
    chat = sorted({p for p, row in zip(user, rows, strict=True) if row["task"] == "chat"})
    evalset = load_eval_sets(args.evals)
    evals = [prompt.text for prompt in evalset.prompts]
    print(
        f"{len(rows)} rows, {len(prompts)} distinct user prompts ({len(chat)} chat); "
        f"{len(evals)} eval prompts"
    )

    def show(title: str, pairs: list[tuple[str, str]]) -> None:
        print(f"\n{title}: {len(pairs)}")
        for text, matched in pairs[: args.show]:
            print(f"  {text[:150]!r}\n    | {matched[:150]!r}")

    index = EvalIndex(evals)
    found = index.find_exhaustive(prompts)
    show(
        "leaks under the decontamination rule, exhaustive",
        [(prompts[p], f"[{m.how}] {evals[m.index]}") for p, m in sorted(found.items())],
    )

    folded_evals = [fold(text) for text in evals]
    padded = [f" {fold(text)} " for text in prompts]
    substring = [
        (prompts[p], evals[e])
        for e, needle in enumerate(folded_evals)
        if len(needle.split()) >= 3
        for p, text in enumerate(padded)
        if f" {needle} " in text
    ]
    show("plain substring (folded)", substring)

    folded_chat = [fold(text) for text in chat]
    scores = np.maximum(
        process.cdist(folded_chat, folded_evals, scorer=fuzz.ratio, score_cutoff=90, workers=-1),
        process.cdist(
            folded_chat, folded_evals, scorer=fuzz.token_sort_ratio, score_cutoff=90, workers=-1
        ),
    )
    show("plain fuzzy >= 90 (chat rows)", [(chat[i], evals[j]) for i, j in _pairs(scores)])

    chat_cores = [" ".join(normalize(text).core) for text in chat]
    eval_cores = index.cores
    long_chat = np.array([len(core.split()) >= 4 for core in chat_cores])
    long_eval = np.array([len(core.split()) >= 4 for core in eval_cores])
    scores = process.cdist(
        chat_cores, eval_cores, scorer=fuzz.token_set_ratio, score_cutoff=90, workers=-1
    )
    scores[~long_chat, :] = 0
    scores[:, ~long_eval] = 0
    show(
        "review: token_set_ratio >= 90 on cores of 4+ words (chat rows)",
        [(chat[i], evals[j]) for i, j in _pairs(scores)],
    )


if __name__ == "__main__":
    main()
