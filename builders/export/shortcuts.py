"""The form-shortcut report: how well a row's *form* alone predicts its ``kind``, per task config.

A model fine-tuned on rows whose wrapper gives the answer away learns "this wrapper → refuse"
instead of "this request → refuse". For each task config, each predictor below is learned on the
train split and scored on the test split (whose seeds it never saw), against the 50% of a
majority baseline:

- ``template``: the phrasing id (``template_id`` without its ``+reply`` suffix, which the model
  never sees);
- ``length``: the user prompt's length in characters, in ten buckets cut at the train deciles;
- ``opening`` / ``closing``: the first / last three words of the user prompt (case and
  punctuation folded);
- ``lines``: the number of non-empty lines (1, 2, 3-5, 6-10, 11-20, 21+);
- ``structure``: code fence, blank-line-separated block, list lines, quoted block, ends with '?';
- ``language``: the user turn's language and the translation target;
- ``all (naive Bayes)``: every feature above together (categorical naive Bayes, add-one).

A single feature predicts by a kind-balanced majority vote per value: the kind in whose train
rows the value is more frequent (ties and values unseen in train earn half a point). Scores are
*kind-balanced* accuracy — the mean of the harmful and the benign recall, which is what plain
accuracy would be on a test split with as many rows of each kind — so the baseline is 50%
whatever the mix. The 95% interval is the adjusted Wald interval for a mean of two proportions
(one success and one failure added per kind: sound at 100% and at small n). A config with fewer
than ``MIN_TEST_ROWS`` test rows of either kind gets no verdict.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TARGET_POINTS = 10.0  # the most a config may score above the 50% baseline
MIN_TEST_ROWS = 20  # per kind: below this the interval is too wide to judge
# Per kind, larger splits are scored on a fixed sample (±1.4 points at 95% with 5,000 test
# rows of each kind); see FormSample.
MAX_TRAIN_ROWS = 20_000
MAX_TEST_ROWS = 5_000
Z95 = 1.959964
NAIVE_BAYES = "all (naive Bayes)"

_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s", re.MULTILINE)
_QUOTED = re.compile(r"^\s*>", re.MULTILINE)


@dataclass(frozen=True)
class FormRow:
    """What the report reads of a row: its kind, split and form."""

    task: str
    kind: str
    split: str
    template_id: str
    prompt: str
    language: str
    target_language: str | None
    id: str = ""


def user_prompts(messages: pa.Array | pa.ChunkedArray) -> list[str]:
    """The first user turn of each row of an Arrow ``messages`` column ("" without one), as
    ``form_row`` reads it, without turning the whole column into Python objects."""
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    turns = pc.list_flatten(messages)
    parents = pc.list_parent_indices(messages).to_numpy(zero_copy_only=False)
    user = pc.equal(turns.field("role"), "user").to_numpy(zero_copy_only=False)
    positions = np.flatnonzero(user)
    owners = parents[positions]
    first = np.ones(len(owners), dtype=bool)
    first[1:] = owners[1:] != owners[:-1]
    prompts = [""] * len(messages)
    contents = turns.field("content").take(pa.array(positions[first])).to_pylist()
    for owner, content in zip(owners[first].tolist(), contents, strict=True):
        prompts[owner] = content
    return prompts


def table_form(item: tuple[str, ...], split: str) -> FormRow:
    """``to_form`` for rows added by ``FormSample.add_table``."""
    template, prompt, language, target, task, kind, row_id = item
    return FormRow(task, kind, split, template, prompt, language, target, row_id)


def form_row(row: dict[str, Any], split: str) -> FormRow:
    """From an exported row (``messages``, ``template_id``, ...)."""
    prompt = next((m["content"] for m in row["messages"] if m["role"] == "user"), "")
    return FormRow(
        row["task"],
        row["kind"],
        split,
        row["template_id"],
        prompt,
        row["language"],
        row["target_language"],
        row["id"],
    )


_PUNCTUATION = (
    "".join(chr(c) for c in range(0x2000, 0x2070)) + "\"'`.,;:!?()[]{}<>«»“”‘’¿¡*_#~-—/\\|"
)


def _words(text: str, last: bool) -> str:
    """Three words at one end, case-folded, punctuation around them stripped (cheap: no regex)."""
    tokens = (text[-200:] if last else text[:200]).split()
    words: list[str] = []
    for token in reversed(tokens) if last else tokens:
        word = token.strip(_PUNCTUATION).casefold()
        if word:
            words.append(word)
            if len(words) == 3:
                break
    return " ".join(reversed(words) if last else words)


def _line_bucket(prompt: str) -> str:
    lines = sum(1 for line in prompt.splitlines() if line.strip())
    for limit, label in ((1, "1"), (2, "2"), (5, "3-5"), (10, "6-10"), (20, "11-20")):
        if lines <= limit:
            return label
    return "21+"


def _structure(prompt: str) -> str:
    multiline = "\n" in prompt
    flags = (
        ("code" if "```" in prompt else ""),
        ("block" if multiline and "\n\n" in prompt.strip() else ""),
        ("list" if multiline and _LIST_LINE.search(prompt) else ""),
        (
            "quote"
            if ('"""' in prompt or "'''" in prompt or (multiline and _QUOTED.search(prompt)))
            else ""
        ),
        ("question" if prompt.rstrip().endswith(("?", "？")) else ""),
    )
    return "+".join(flag for flag in flags if flag) or "plain"


FEATURES: tuple[str, ...] = (
    "template",
    "length",
    "opening",
    "closing",
    "lines",
    "structure",
    "language",
)
FEATURE_NAMES: tuple[str, ...] = (*FEATURES, NAIVE_BAYES)


def _length_edges(rows: list[FormRow]) -> list[int]:
    """The train deciles of the prompt length: ``length`` is the bucket between two of them."""
    lengths = sorted(len(row.prompt) for row in rows)
    if not lengths:
        return []
    return sorted({lengths[min(len(lengths) - 1, len(lengths) * q // 10)] for q in range(1, 10)})


def row_features(row: FormRow, edges: list[int]) -> tuple[str, ...]:
    """The row's value of each of ``FEATURES``, in that order."""
    prompt = row.prompt
    return (
        row.template_id.split("+", 1)[0],
        str(bisect.bisect_right(edges, len(prompt))),
        _words(prompt, last=False),
        _words(prompt, last=True),
        _line_bucket(prompt),
        _structure(prompt),
        f"{row.language}>{row.target_language or '-'}",
    )


def balanced_interval(
    correct: dict[str, float], totals: dict[str, int]
) -> tuple[float, float, float]:
    """Kind-balanced accuracy and its adjusted-Wald 95% interval (harmful and benign recall)."""
    kinds = ("harmful", "benign")
    recall = [correct[kind] / totals[kind] for kind in kinds]
    adjusted = [(correct[kind] + 1) / (totals[kind] + 2) for kind in kinds]
    variance = sum(p * (1 - p) / (totals[k] + 2) for p, k in zip(adjusted, kinds, strict=True))
    centre = sum(adjusted) / 2
    half = Z95 * math.sqrt(variance) / 2
    return sum(recall) / 2, max(0.0, centre - half), min(1.0, centre + half)


class FormModel:
    """What train teaches about form: per feature value, which kind it is more frequent in
    (the kind-balanced majority vote) and its naive-Bayes log ratio (add-one smoothing)."""

    def __init__(self, table: list[tuple[str, ...]], kinds: list[str]) -> None:
        totals = Counter(kinds)
        harmful_total, benign_total = totals["harmful"], totals["benign"]
        self.signs: list[dict[str, int]] = []
        self.ratios: list[dict[str, float]] = []
        self.unseen: list[float] = []
        for index in range(len(FEATURES)):
            counts = Counter(
                (features[index], kind) for features, kind in zip(table, kinds, strict=True)
            )
            values = {value for value, _ in counts}
            size = len(values) + 1
            signs, ratios = {}, {}
            for value in values:
                harmful, benign = counts[(value, "harmful")], counts[(value, "benign")]
                share = harmful / harmful_total - benign / benign_total
                signs[value] = (share > 0) - (share < 0)
                ratios[value] = math.log((harmful + 1) / (harmful_total + size)) - math.log(
                    (benign + 1) / (benign_total + size)
                )
            self.signs.append(signs)
            self.ratios.append(ratios)
            self.unseen.append(
                math.log(1 / (harmful_total + size)) - math.log(1 / (benign_total + size))
            )

    def vote(self, index: int, value: str) -> int:
        """+1 harmful, -1 benign, 0 no preference (a tie, or a value unseen in train)."""
        return self.signs[index].get(value, 0)

    def naive_bayes(self, features: tuple[str, ...]) -> int:
        score = sum(
            self.ratios[index].get(value, self.unseen[index])
            for index, value in enumerate(features)
        )
        return 0 if abs(score) < 1e-9 else (1 if score > 0 else -1)


def _credit(sign: int, kind: str) -> float:
    if sign == 0:
        return 0.5
    return 1.0 if (sign > 0) == (kind == "harmful") else 0.0


def config_report(
    train: list[FormRow],
    test: list[FormRow],
    n_train: dict[str, int] | None = None,
    n_test: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The report of one task config (see the module docstring). ``train`` and ``test`` may be
    samples: ``n_train`` / ``n_test`` then give the full counts per kind."""
    counted_train, counted_test = Counter(r.kind for r in train), Counter(r.kind for r in test)
    n_train = {kind: (n_train or counted_train).get(kind, 0) for kind in ("harmful", "benign")}
    n_test = {kind: (n_test or counted_test).get(kind, 0) for kind in ("harmful", "benign")}
    report: dict[str, Any] = {"n_test": n_test, "n_train": n_train, "features": {}}
    if 0 in (*n_train.values(), *n_test.values()):
        report["status"] = "one_kind"
        return report
    scored = {kind: counted_test[kind] for kind in ("harmful", "benign")}
    report["n_scored"] = scored
    edges = _length_edges(train)
    model = FormModel([row_features(row, edges) for row in train], [row.kind for row in train])
    correct = {name: {"harmful": 0.0, "benign": 0.0} for name in FEATURE_NAMES}
    for row in test:
        features = row_features(row, edges)
        for index, name in enumerate(FEATURES):
            correct[name][row.kind] += _credit(model.vote(index, features[index]), row.kind)
        correct[NAIVE_BAYES][row.kind] += _credit(model.naive_bayes(features), row.kind)
    for name in FEATURE_NAMES:
        accuracy, low, high = balanced_interval(correct[name], scored)
        report["features"][name] = {
            "accuracy": round(100 * accuracy, 1),
            "low": round(100 * low, 1),
            "high": round(100 * high, 1),
            "points": round(100 * accuracy - 50, 1),
        }
    worst = max(FEATURE_NAMES, key=lambda name: report["features"][name]["points"])
    report["worst"] = worst
    report["worst_points"] = report["features"][worst]["points"]
    if min(n_test.values()) < MIN_TEST_ROWS:
        report["status"] = "too_few"
    else:
        report["status"] = "over" if report["worst_points"] > TARGET_POINTS else "ok"
    return report


class FormSample:
    """Streams rows in and keeps, per task, split and kind, the count and a sample of at most
    ``MAX_TRAIN_ROWS`` / ``MAX_TEST_ROWS`` rows: those with the smallest row ids (ids are
    content hashes, so this is a fixed pseudo-random sample whatever the row order: the card,
    ``stats`` and ``validate`` score the same rows). Rows are turned into ``FormRow``s by
    ``to_form(item, split)`` only when kept, which keeps a 600k-row build to about a second.
    """

    CAPS: ClassVar[dict[str, int]] = {"train": MAX_TRAIN_ROWS, "test": MAX_TEST_ROWS}

    def __init__(self, tasks: Iterable[str], to_form: Callable[[Any, str], FormRow]) -> None:
        self.tasks = list(tasks)
        self.wanted = set(self.tasks)
        self.to_form = to_form
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.kept: dict[tuple[str, str, str], list[tuple[str, Any]]] = defaultdict(list)

    def add(self, task: str, split: str, kind: str, row_id: str, item: Any) -> None:
        group = (task, split, kind)
        bucket = self.kept.get(group)
        if bucket is None:
            if task not in self.wanted or split not in self.CAPS:
                return
            bucket = self.kept[group] = []
        self.counts[group] += 1
        bucket.append((row_id, item))
        if len(bucket) >= 2 * self.CAPS[split]:
            bucket.sort(key=itemgetter(0))
            del bucket[self.CAPS[split] :]

    def add_table(self, table: pa.Table, split: str) -> None:
        """Every row of an ``EXAMPLE_SCHEMA`` table (the exporter's stream): the same sample as
        ``add`` with ``form_row``, the prompt read column-wise. Use with ``to_form=table_form``."""
        columns = ("task", "kind", "id", "template_id", "language", "target_language")
        values = [table.column(name).to_pylist() for name in columns]
        prompts = user_prompts(table.column("messages"))
        for task, kind, row_id, template, language, target, prompt in zip(
            *values, prompts, strict=True
        ):
            self.add(
                task, split, kind, row_id, (template, prompt, language, target, task, kind, row_id)
            )

    def rows(self, task: str, split: str) -> list[FormRow]:
        rows = []
        for kind in ("harmful", "benign"):
            bucket = sorted(self.kept.get((task, split, kind), ()), key=itemgetter(0))
            rows += [self.to_form(item, split) for _, item in bucket[: self.CAPS[split]]]
        return rows

    def report(self) -> dict[str, Any]:
        """``{"target_points", "min_test_rows", "configs": {task: config_report}}``."""
        configs = {}
        for task in self.tasks:
            counts = {
                split: {kind: self.counts[(task, split, kind)] for kind in ("harmful", "benign")}
                for split in self.CAPS
            }
            if 0 in (*counts["train"].values(), *counts["test"].values()):
                configs[task] = config_report([], [], counts["train"], counts["test"])
                continue
            train, test = self.rows(task, "train"), self.rows(task, "test")
            configs[task] = config_report(train, test, counts["train"], counts["test"])
        return {"target_points": TARGET_POINTS, "min_test_rows": MIN_TEST_ROWS, "configs": configs}


def shortcut_report(rows: Iterable[FormRow], tasks: Iterable[str]) -> dict[str, Any]:
    """The report over ``FormRow``s (their position stands in for a row id)."""
    sample = FormSample(tasks, lambda row, _split: row)
    for index, row in enumerate(rows):
        sample.add(row.task, row.split, row.kind, row.id or f"{index:012d}", row)
    return sample.report()


def over_target(report: dict[str, Any]) -> list[str]:
    """One line per config whose form predicts ``kind`` more than the target above baseline."""
    lines = []
    for task, config in report["configs"].items():
        if config.get("status") == "over":
            feature = config["features"][config["worst"]]
            lines.append(
                f"{task}: kind is predicted from form ({config['worst']}) with "
                f"{feature['accuracy']}% kind-balanced accuracy (95% CI {feature['low']}–"
                f"{feature['high']}, n test {config['n_test']['harmful']} harmful / "
                f"{config['n_test']['benign']} benign): {feature['points']:+.1f} points over "
                f"the 50% baseline, target ≤ +{report['target_points']:.0f}"
            )
    return lines


_STATUS_TEXT = {
    "ok": "ok",
    "over": "over target",
    "too_few": f"too few test rows (< {MIN_TEST_ROWS} of a kind): no verdict",
    "one_kind": "one kind only: nothing to predict",
}


def report_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per config and feature (accuracy with its interval) for the card and ``stats``."""
    table = []
    for task, config in report["configs"].items():
        base = {
            "config": task,
            "n_test": f"{config['n_test']['harmful']} / {config['n_test']['benign']}",
            "status": _STATUS_TEXT[config["status"]],
        }
        cells = {
            name: f"{f['accuracy']:.1f} ({f['low']:.0f}–{f['high']:.0f})"
            for name, f in config["features"].items()
        }
        worst = f"{config['worst_points']:+.1f} ({config['worst']})" if "worst" in config else "—"
        table.append({**base, **{n: cells.get(n, "—") for n in FEATURE_NAMES}, "worst": worst})
    return table
