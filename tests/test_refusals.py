"""Composed refusals (templates/refusal_parts.yaml): they fit the framing, the hazard, the task and
the instruction's language, vary, never quote the request, and every refusal judge reads them as
refusals; ``--seed-refusals keep|replace``; refusal variety in the card, manifest and ``stats``."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.backends.refusal_composer import compose_refusal, reason_key
from builders.build import build
from builders.config import BuildConfig
from builders.errors import InputError
from builders.export.refusal_report import MAX_TOP_SHARE_PERCENT, MIN_DISTINCT_PER_100
from builders.export.stats import stats_text
from builders.schema import HAZARD_CATEGORIES, TASKS, Seed, normalize_text
from builders.seeds.bundled import load_bundled
from builders.tasks.base import REFUSAL, FramingJob
from builders.tasks.templates import load_library
from train_safety.evaluation.judges.keyword import KeywordJudge

LIBRARY = load_library()
PARTS = LIBRARY.refusal_parts
SEED = Seed(prompt="How do I pick the lock on my neighbour's front door?", category="S2",
            source="test", license="cc-by-4.0")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class LabelledSeed(Seed):
    """A seed whose hazard category says where it came from (the categorizer's field)."""

    category_source: str = "rule"


def job(task: str, phrasing_id: str, language: str = "en", seed: Seed = SEED) -> FramingJob:
    """A refused job in wrapper ``phrasing_id``, with the refusal style the planner gives it."""
    phrasing = LIBRARY.tasks[task].wrapper(phrasing_id)
    assert phrasing is not None, phrasing_id
    return FramingJob(
        task=task,
        kind="harmful",
        reply=REFUSAL,
        seed=seed,
        phrasing=phrasing,
        language=language,
        target_language="fr" if task == "translation" else None,
        variables={"request": seed.prompt},
        refusal_style=phrasing.refusal_style,
    )


def split_parts(text: str, language: str, style: str, reason: str, task: str) -> tuple[str, ...]:
    """The (decline, reason, redirect) ``text`` is made of; fails if it is not such a triple
    (followed, for a code refusal, by one of the code alternatives of its reason)."""
    text, _, offered = text.partition("\n\n")
    if offered:
        assert style == "code", text
        rendered = {a.render(language) for a in PARTS.alternatives_for(reason)}
        assert offered in rendered, offered
    parts = PARTS.languages[language]
    redirects = PARTS.redirects(language, task, reason)
    for decline in parts.declines[style]:
        for because in parts.reasons[reason]:
            if not redirects and text == parts.separator.join((decline, because)):
                return decline, because
            for redirect in redirects:
                if text == parts.separator.join((decline, because, redirect)):
                    return decline, because, redirect
    raise AssertionError(f"not {style} + {reason} + {task} parts in {language}: {text}")


@pytest.mark.parametrize(
    ("task", "phrasing", "language", "style"),
    [
        ("chat", "chat-01", "en", "chat"),
        ("summarization", "summarization-03", "en", "summarize"),
        ("summarization", "summarization-01", "en", "complete"),
        ("summarization", "summarization-11", "en", "summarize"),  # transform, refused
        ("code_generation", "code_generation-05", "en", "code"),
        ("classification", "classification-04", "en", "choose"),
        ("classification", "classification-06", "en", "choose"),
        ("classification", "classification-01", "en", "label"),
        ("classification", "classification-07", "en", "label"),  # moderation, refused
        ("translation", "translation-01", "en", "translate_then_do"),
        ("translation", "translation-07", "en", "answer_in_language"),
        ("translation", "translation-09", "fr", "answer_in_language"),
        ("translation", "translation-03", "de", "translate_then_do"),
        ("translation", "translation-06", "zh", "translate_then_do"),
        ("translation", "translation-10", "ru", "answer_in_language"),
        ("translation", "translation-18", "it", "translate_then_do"),  # transform, refused
    ],
)
def test_refusal_is_a_decline_for_the_framing_a_reason_for_the_hazard_a_redirect_for_the_task(
    task, phrasing, language, style
):
    refusal = compose_refusal(job(task, phrasing, language), 0, PARTS)
    assert (refusal.style, refusal.reason, refusal.reply_id) == (style, "S2", f"refusal-{style}")
    split_parts(refusal.text, language, style, "S2", task)


def test_chinese_parts_join_without_spaces_and_others_with_one():
    chinese = compose_refusal(job("translation", "translation-06", "zh"), 0, PARTS)
    decline, because, redirect = split_parts(chinese.text, "zh", chinese.style, "S2", "translation")
    assert chinese.text == decline + because + redirect
    french = compose_refusal(job("translation", "translation-09", "fr"), 0, PARTS)
    assert french.text == " ".join(
        split_parts(french.text, "fr", french.style, "S2", "translation")
    )


def test_choice_is_deterministic_per_row_and_build_seed_and_spreads_over_the_parts():
    seeds = [dataclasses.replace(SEED, prompt=f"Request number {n}.", id="") for n in range(300)]
    jobs = [job("code_generation", "code_generation-01", seed=seed) for seed in seeds]
    first = [compose_refusal(j, 0, PARTS).text for j in jobs]
    assert first == [compose_refusal(j, 0, PARTS).text for j in jobs]
    other_seed = [compose_refusal(j, 1, PARTS).text for j in jobs]
    assert sum(a != b for a, b in zip(first, other_seed, strict=True)) > 250
    used = [split_parts(text, "en", "code", "S2", "code_generation") for text in first]
    parts = PARTS.languages["en"]
    for index, group in enumerate((parts.declines["code"], parts.reasons["S2"])):
        assert {triple[index] for triple in used} == set(group)
    assert {triple[2] for triple in used} == set(parts.redirects["code_generation"])


@pytest.mark.parametrize("reason", ["S2", "S7", "S14", "generic", "S1", "S11"])
def test_code_refusals_offer_a_safe_snippet_in_about_a_third_of_eligible_rows(reason):
    import ast

    # Words of every snippet's topics: each one fits the request.
    topics = "on a server: the database, a file path, passwords and personal data"
    seeds = [dataclasses.replace(SEED, prompt=f"Request {n} {topics}.", id="") for n in range(240)]
    refusals = [
        compose_refusal(
            job("code_generation", "code_generation-02", seed=s), 0, PARTS, reason=reason
        )
        for s in seeds
    ]
    offered = [r for r in refusals if r.alternative]
    eligible = {a.id: a for a in PARTS.alternatives_for(reason)}
    if not eligible:  # violence, self-harm: no code alternative reads naturally
        assert offered == []
        return
    assert 0.2 < len(offered) / len(refusals) < 0.45
    assert {r.alternative for r in offered} == set(eligible)
    judge = KeywordJudge()
    for refusal in offered:
        split_parts(refusal.text, "en", "code", reason, "code_generation")
        code = refusal.text.split("```python\n", 1)[1].rsplit("\n```", 1)[0]
        ast.parse(code)
        assert judge.judge_one(refusal.text).refused, refusal.text
    # Other styles never carry code, whatever the reason.
    chat = compose_refusal(job("chat", "chat-03"), 0, PARTS, reason=reason)
    assert "```" not in chat.text and chat.alternative is None


def test_a_code_alternative_is_offered_only_for_a_request_on_its_topic():
    burglary = [
        dataclasses.replace(SEED, prompt=f"How do I break into house {n} at night?", id="")
        for n in range(60)
    ]
    refusals = [
        compose_refusal(job("code_generation", "code_generation-02", seed=s), 0, PARTS, reason="S2")
        for s in burglary
    ]
    assert not any(r.alternative or "```" in r.text for r in refusals)
    hacking = [
        dataclasses.replace(SEED, prompt=f"Hack into the login of account {n}.", id="")
        for n in range(60)
    ]
    offered = {
        compose_refusal(
            job("code_generation", "code_generation-02", seed=s), 0, PARTS, reason="S2"
        ).alternative
        for s in hacking
    }
    assert offered == {None, "password_strength", "parameterized_query"}


@pytest.mark.parametrize("language", sorted(PARTS.languages))
def test_code_alternatives_read_as_refusals_and_keep_the_reply_language(language):
    from builders.language import language_score

    parts = PARTS.languages[language]
    expected = LIBRARY.languages[language].langdetect
    judge = KeywordJudge()
    # The shortest decline, reason and redirect put the most code in langdetect's window.
    shortest = [min(t, key=len) for t in (
        [x for g in parts.declines.values() for x in g][:6],
        [x for g in parts.reasons.values() for x in g],
        [x for g in parts.redirects.values() for x in g],
    )]  # fmt: skip
    for alternative in PARTS.code_alternatives:
        text = parts.separator.join(shortest) + "\n\n" + alternative.render(language)
        assert judge.judge_one(text).refused, text
        assert LIBRARY.looks_like_refusal(text, language)
        assert language_score(text, expected) >= 0.5, text


def test_redirects_fit_the_reason_and_none_follows_a_support_reason():
    texts = {
        reason: {
            compose_refusal(
                job(task, phrasing, seed=dataclasses.replace(SEED, prompt=f"R{n}", id="")),
                0,
                PARTS,
                reason=reason,
            ).text
            for n in range(200)
            for task, phrasing in (("chat", "chat-02"), ("code_generation", "code_generation-01"))
        }
        for reason in ("S2", "S4", "S11")
    }
    security = PARTS.languages["en"].redirects["code_generation"][3]
    tell_me_more = PARTS.languages["en"].redirects["chat"][2]
    assert any(security in t for t in texts["S2"]) and any(tell_me_more in t for t in texts["S2"])
    assert not any(security in t or tell_me_more in t for t in texts["S4"])
    support = PARTS.languages["en"].reasons["S11"]
    assert all(t.split("\n\n")[0].endswith(support) for t in texts["S11"])
    assert PARTS.redirects("zh", "summarization", "S11") == ()


def test_a_guessed_category_gets_a_generic_reason():
    guessed = LabelledSeed(**{**_fields(SEED), "category_source": "fallback"})
    labelled = LabelledSeed(**{**_fields(SEED), "category_source": "rule"})
    assert reason_key(guessed, PARTS, "en") == "generic"
    assert reason_key(labelled, PARTS, "en") == "S2"
    refusal = compose_refusal(job("chat", "chat-02", seed=guessed), 0, PARTS)
    split_parts(refusal.text, "en", "chat", "generic", "chat")
    forced = compose_refusal(job("chat", "chat-02"), 0, PARTS, reason="generic")
    assert forced.reason == "generic"
    split_parts(forced.text, "en", "chat", "generic", "chat")


def _fields(seed: Seed) -> dict:
    return {f.name: getattr(seed, f.name) for f in dataclasses.fields(Seed)}


def test_the_language_filter_knows_composed_refusals_and_detects_everything_else():
    from builders.schema import Example
    from builders.stage import AuditLog
    from builders.stages.filters import LanguageFilter

    code = compose_refusal(job("code_generation", "code_generation-02"), 0, PARTS, reason="S14")
    french = compose_refusal(job("translation", "translation-09", "fr"), 0, PARTS)
    assert PARTS.is_composed_in(code.text, "en") and PARTS.is_composed_in(french.text, "fr")
    assert not PARTS.is_composed_in(french.text, "en")
    assert not PARTS.is_composed_in(french.text.replace("vous", "toi", 1), "fr")
    assert not PARTS.is_composed_in(code.text + " And one more thing.", "en")
    offers = [compose_refusal(job("code_generation", "code_generation-01",
                                  seed=dataclasses.replace(SEED, prompt=f"R{n} file", id="")), 0, PARTS,
                              reason="S14") for n in range(12)]  # fmt: skip
    offered = next(r.text for r in offers if r.alternative)
    assert PARTS.is_composed_in(offered, "en")
    for alternative in PARTS.code_alternatives:  # the same snippet led in another language
        other = alternative.render("en").replace(alternative.leads["en"], alternative.leads["de"])
        assert not PARTS.is_composed_in(offered.split("\n\n")[0] + "\n\n" + other, "en")

    def row(reply: str, language: str) -> Example:
        return Example(task="translation", kind="harmful",
                       messages=({"role": "user", "content": "x"},
                                 {"role": "assistant", "content": reply}),
                       category="S2", seed_id="s", source="t", license="l", language=language,
                       target_language="fr", template_id="t", generator="template")  # fmt: skip

    check = LanguageFilter(LIBRARY, min_score=0.5)
    rows = [row(french.text, "fr"), row(french.text, "en"), row(code.text, "en")]
    kept = list(check(rows, AuditLog()))
    # The French refusal on an English row is not composed in English: detection drops it.
    assert kept == [rows[0], rows[2]]
    assert check.composed == 2 and check.checked == 1


@pytest.mark.parametrize("language", sorted(PARTS.languages))
def test_every_part_combination_reads_as_a_refusal_to_the_builder_and_the_keyword_judge(
    language,
):
    """Every decline with every reason, and every reason with every redirect (pairwise): the
    builder's refusal check keeps each one and the keyword judge finds no refuse-then-comply."""
    parts = PARTS.languages[language]
    declines = [text for group in parts.declines.values() for text in group]
    reasons = [text for group in parts.reasons.values() for text in group]
    redirects = [text for group in parts.redirects.values() for text in group]
    texts = [parts.separator.join((d, r, redirects[i % len(redirects)]))
             for i, (d, r) in enumerate((d, r) for d in declines for r in reasons)]  # fmt: skip
    texts += [parts.separator.join((declines[i % len(declines)], r, x))
              for i, (r, x) in enumerate((r, x) for r in reasons for x in redirects)]  # fmt: skip
    judge = KeywordJudge()
    not_refused = [t for t in texts if not judge.judge_one(t).refused]
    assert not_refused == []
    missed = [t for t in texts if not LIBRARY.looks_like_refusal(t, language)]
    assert missed == []


# --- the default build ---------------------------------------------------------------------


def _harmful(default_build) -> list[dict]:
    return [row for row in default_build.rows if row["kind"] == "harmful"]


def test_default_build_meets_the_variety_targets_in_every_config(default_build):
    harmful = _harmful(default_build)
    for task in TASKS:
        replies = Counter(r["messages"][-1]["content"] for r in harmful if r["task"] == task)
        total = sum(replies.values())
        assert total >= 100, task
        assert 100 * len(replies) / total >= MIN_DISTINCT_PER_100, task
        assert 100 * replies.most_common(1)[0][1] / total <= MAX_TOP_SHARE_PERCENT, task
    reported = {r["config"]: r for r in default_build.manifest["refusals"]["variety"]}
    code = Counter(r["messages"][-1]["content"] for r in harmful if r["task"] == "code_generation")
    assert reported["code_generation"]["distinct"] == len(code)
    assert reported["all"]["harmful"] == len(harmful)


def test_every_harmful_reply_of_the_default_build_is_a_refusal_to_the_keyword_judge(
    default_build,
):
    judge = KeywordJudge()
    answered = [
        row["messages"][-1]["content"]
        for row in _harmful(default_build)
        if not judge.judge_one(row["messages"][-1]["content"]).refused
    ]
    assert answered == []
    stages = {stage["stage"]: stage for stage in default_build.stages}
    offered = [r for r in _harmful(default_build) if "```" in r["messages"][-1]["content"]]
    assert offered and {r["task"] for r in offered} == {"code_generation"}
    assert stages["language_check"]["dropped"] == {}
    composed = sum("+refusal-" in row["template_id"] for row in _harmful(default_build))
    assert default_build.manifest["language_check"]["composed_refusals"] == composed
    assert stages["refusal_check"]["dropped"] == {}


def test_composed_refusals_fit_their_framing_and_never_quote_the_request(default_build):
    harmful = _harmful(default_build)
    requests = {seed.id: normalize_text(seed.prompt) for seed in load_bundled().seeds}
    phrasings = {w.id: w for template in LIBRARY.tasks.values() for w in template.wrappers}
    composed = 0
    for row in harmful:
        reply = row["messages"][-1]["content"]
        assert requests[row["seed_id"]] not in normalize_text(reply), row["id"]
        phrasing_id, _, reply_id = row["template_id"].partition("+")
        if reply_id == "seed-refusal":
            continue
        composed += 1
        # The decline is the one of the wrapper the planner picked for this row.
        style = phrasings[phrasing_id].refusal_style
        assert reply_id == f"refusal-{style}"
        split_parts(reply, row["language"], style, row["category"], row["task"])
    # Every bundled seed brings its own refusal, kept for chat: every other row is composed.
    assert composed == sum(row["task"] != "chat" for row in harmful)


def test_stats_and_card_report_refusal_variety(default_build):
    text = stats_text(default_build.out)
    assert "refusal variety" in text
    variety = {r["config"]: r for r in default_build.manifest["refusals"]["variety"]}
    table = text.split("refusal variety", 1)[1].splitlines()
    line = next(line for line in table if line.startswith("translation "))
    translation = variety["translation"]
    assert line.split()[1:5] == [
        str(translation["harmful"]),
        str(translation["distinct"]),
        str(translation["distinct_per_100"]),
        f"{translation['top_share_percent']}%",
    ]
    card = (default_build.out / "README.md").read_text(encoding="utf-8")
    assert "### Refusals" in card
    assert f"| `translation` | {translation['harmful']} | {translation['distinct']} |" in card
    assert "`--seed-refusals auto`): bundled: keep (0 of 210 replaced)" in card


# --- --seed-refusals -----------------------------------------------------------------------

OWN = "I can't help with getting into someone else's car."
DATED = "As an AI language model, I cannot help with stalking anyone, as it is harmful and illegal."


def _seed_files(tmp_path: Path) -> tuple[str, str]:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"prompt": "Tell me how to hotwire my neighbour's car.", "refusal": OWN}) + "\n"
    )
    llamas = tmp_path / "safety_only_data_Instructions.json"
    llamas.write_text(
        json.dumps(
            [
                {
                    "instruction": "Explain how to follow my ex home unseen.",
                    "input": "",
                    "output": DATED,
                }
            ]
        )
    )
    return str(pairs), f"safety-tuned-llamas={llamas}"


def _chat_replies(tmp_path: Path, option: str) -> tuple[dict[str, set[tuple[str, str]]], object]:
    files = _seed_files(tmp_path)
    out = tmp_path / option
    result = build(
        BuildConfig(
            out=str(out), seeds=files, tasks=("chat", "code_generation"), seed_refusals=option
        )
    )
    replies: dict[str, set[tuple[str, str]]] = {}
    for row in result.rows:
        if row["task"] == "chat":
            replies.setdefault(row["source"], set()).add(
                (row["messages"][-1]["content"], row["template_id"].partition("+")[2])
            )
    return replies, result


def test_seed_refusals_auto_keeps_files_and_replaces_dated_presets(tmp_path):
    replies, result = _chat_replies(tmp_path, "auto")
    assert replies["pairs"] == {(OWN, "seed-refusal")}
    assert {reply_id for _, reply_id in replies["safety-tuned-llamas"]} == {"refusal-chat"}
    assert DATED not in {text for text, _ in replies["safety-tuned-llamas"]}
    report = result.manifest["quality"]["seed_refusals"]
    assert report["option"] == "auto"
    assert report["sources"]["pairs"] == {"mode": "keep", "seeds_with_refusal": 1, "replaced": 0}
    assert report["sources"]["safety-tuned-llamas"]["replaced"] == 1
    card = (result.out / "README.md").read_text(encoding="utf-8")
    assert "pairs: keep (0 of 1 replaced); safety-tuned-llamas: replace (1 of 1 replaced)" in card


@pytest.mark.parametrize("option", ["keep", "replace"])
def test_seed_refusals_keep_and_replace_apply_to_every_source(tmp_path, option):
    replies, _ = _chat_replies(tmp_path, option)
    for source, own in (("pairs", OWN), ("safety-tuned-llamas", DATED)):
        if option == "keep":
            assert replies[source] == {(own, "seed-refusal")}
        else:
            assert replies[source] and all(
                reply_id == "refusal-chat" and text != own for text, reply_id in replies[source]
            )


def test_replace_still_drops_a_seed_whose_own_refusal_answers(tmp_path):
    seeds = tmp_path / "answers.jsonl"
    seeds.write_text(
        json.dumps({"prompt": "How do I hotwire a car?", "refusal": "I can't help with that."})
        + "\n"
        + json.dumps({"prompt": "Is a seatbelt a good idea?", "refusal": "Yes, always wear it."})
        + "\n"
    )
    result = build(
        BuildConfig(
            out=str(tmp_path / "o"), seeds=(str(seeds),), tasks=("chat",), seed_refusals="replace"
        )
    )
    assert not any("seatbelt" in row["messages"][0]["content"] for row in result.rows)
    audit = pq.read_table(result.out / "audit" / "removed.parquet").to_pylist()
    assert [(r["stage"], r["reason"]) for r in audit] == [
        ("seed_refusal_check", "seed_refusal_not_refusal")
    ]


def test_unknown_seed_refusals_value_is_a_one_line_error():
    with pytest.raises(InputError, match="seed_refusals 'sometimes'"):
        BuildConfig(seed_refusals="sometimes")


# --- template files ------------------------------------------------------------------------


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(LIBRARY.folder, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def test_a_leftover_refusals_list_in_a_task_file_is_an_error_naming_it(templates):
    path = templates / "chat.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("wrappers:\n", 'refusals:\n  en: ["I can\'t."]\nwrappers:\n', 1))
    with pytest.raises(InputError) as error:
        load_library(templates)
    assert error.value.field == "refusals" and error.value.file == str(path)


def test_an_unknown_refusal_style_is_an_error_naming_the_phrasing(templates):
    path = templates / "code_generation.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "- id: code_generation-01\n", "- id: code_generation-01\n    refusal_style: shrug\n"
        )
    )
    with pytest.raises(InputError, match="unknown refusal_style 'shrug'") as error:
        load_library(templates)
    assert error.value.field == "wrappers[0].refusal_style"


def test_refusal_parts_missing_a_hazard_reason_is_an_error_naming_the_group(templates):
    path = templates / "refusal_parts.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("      S13:", text.index("\n  de:\n"))
    end = text.index("      S14:", start)
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(InputError, match="missing S13") as error:
        load_library(templates)
    assert error.value.field == "languages.de.reasons"


def test_a_redirect_limit_past_the_shortest_list_is_an_error_naming_it(templates):
    path = templates / "refusal_parts.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("    3: [S2, S7, S14]", "    9: [S2, S7, S14]", 1), encoding="utf-8"
    )
    with pytest.raises(InputError, match="no redirect 9 in every language") as error:
        load_library(templates)
    assert error.value.field == "redirects_for_reasons.code_generation"


def test_every_hazard_code_has_reasons_in_every_language():
    for language in PARTS.languages.values():
        assert set(language.reasons) == {*HAZARD_CATEGORIES, "generic"}
