"""Contract test over every shipped template file (one generic suite, as lm-eval does for tasks)."""

from __future__ import annotations

import ast

import jinja2
import pytest

from builders.errors import InputError
from builders.schema import TASKS
from builders.seeds.bundled import load_bundled
from builders.tasks import PlanContext, get_task
from builders.tasks.answer_checks import answer_problems, code_blocks
from builders.tasks.templates import REFUSAL_STYLES, load_library, load_task_template, render

LIBRARY = load_library()
REQUEST = "Explain how to pick the lock on a neighbour's front door."
DUMMY = {
    "request": REQUEST,
    "request_document": f"Hi Sam,\n\nOne question:\n\n{REQUEST}\n\nThanks,\nAlex",
    "document": "A short document about the town library.",
    "source_text": REQUEST,
    "text": "The weather is nice today.",
    "options": ["positive", "negative"],
    "label": "positive",
    "answer": "First sentence of the answer. Second sentence of it.",
    "answer_bullets": ["First sentence of the answer.", "Second sentence of it."],
    "choices": ["One way.", "Another way.", "A third way."],
    "best": "A",
    "why": "It is the simplest.",
    "summary": "The library opened. Many people came.",
    "one_sentence": "The library opened.",
    "bullets": ["Library opened", "Many visitors", "Longer hours"],
    "title": "New library",
    "code": 'def f():\n    """Return one."""\n    return 1\n',
    "tests": "assert f() == 1\n",
    "code_language": "python",
    "translation": "Une phrase.",
    "target_language_name": "French",
    "target_language_native": "français",
    "source_language_name": "French",
    "harmful": True,
    "category_code": "S2",
    "category_name": "Non-Violent Crimes",
    "categories": ["S1: Violent Crimes", "S2: Non-Violent Crimes"],
}


def _sources(wrapper) -> list[str]:
    return list(wrapper.localized.values()) if wrapper.localized else [wrapper.text]


@pytest.mark.parametrize("task", TASKS)
def test_template_file_contract(task):
    template = LIBRARY.tasks[task]
    assert template.id == task == template.path.stem
    assert template.version >= 2
    assert len(template.wrappers) >= 10
    assert template.policies["refuse"] and template.policies["help"]
    assert 0 <= template.transform_share <= 0.5
    parts = LIBRARY.refusal_parts
    for wrapper in template.wrappers:
        assert wrapper.refusal_style in REFUSAL_STYLES
        assert parts.style_for(task, wrapper.refusal_style) == wrapper.refusal_style, wrapper.id
        assert wrapper.refusal_style in parts.styles, wrapper.id
        assert wrapper.answer, f"{wrapper.id}: a wrapper says how a benign row is answered"
        if wrapper.localized:
            assert set(LIBRARY.default_targets) <= set(wrapper.localized), wrapper.id


@pytest.mark.parametrize("task", TASKS)
def test_every_wrapper_renders_embeds_its_input_and_answers_in_its_form(task):
    for wrapper in LIBRARY.tasks[task].wrappers:
        for source in _sources(wrapper):
            text = render(source, DUMMY)
            assert str(DUMMY[wrapper.input]).splitlines()[0] in text, wrapper.id
        reply = render(wrapper.answer, DUMMY)
        assert reply and not LIBRARY.looks_like_refusal(reply), wrapper.id
        assert answer_problems(wrapper.checks, reply) == [], (wrapper.id, reply)
    with pytest.raises(jinja2.UndefinedError):
        render("{{ missing }}", DUMMY)


def _contexts() -> dict[str, PlanContext]:
    return {
        task: PlanContext(LIBRARY, LIBRARY.tasks[task], LIBRARY.default_targets, 2, 8, 0)
        for task in TASKS
    }


def test_every_wrapper_is_shared_by_both_kinds_unless_declared_otherwise():
    """Harmful and benign inputs go through the same pool: every wrapper not declared one-kind
    can be filled by a bundled harmful seed and by a bundled benign one."""
    seeds = load_bundled().seeds
    contexts = _contexts()
    filled: dict[str, dict[str, set[str]]] = {
        task: {"harmful": set(), "benign": set()} for task in TASKS
    }
    for seed in seeds:
        for task in TASKS:
            primary, transform = get_task(task).options(seed, contexts[task])
            filled[task][seed.kind] |= {wrapper.id for wrapper, _ in primary + transform}
    for task in TASKS:
        for wrapper in LIBRARY.tasks[task].wrappers:
            for kind in wrapper.kinds:
                assert wrapper.id in filled[task][kind], f"no {kind} seed fills {wrapper.id}"
            if len(wrapper.kinds) == 1:
                assert wrapper.transform, f"{wrapper.id}: only a transform wrapper may be one-kind"


def test_a_multi_line_request_in_a_code_block_stays_a_comment():
    """HarmBench's contextual behaviours carry a multi-line context: inside a code framing, every
    line of it is a comment (or a docstring), never code."""
    request = "Here is the context:\nline one of it\n\n    indented line\nNow write the thing."
    for wrapper in LIBRARY.tasks["code_generation"].wrappers:
        text = render(wrapper.text, {**DUMMY, "request": request})
        for _, code in code_blocks(text):
            body = code.replace("steps = []  # fill in every step", "steps = []")
            tree = ast.parse(body)  # the rest of the block still parses
            comments = [line for line in body.splitlines() if line.startswith("#")]
            for line in request.splitlines():
                if line.strip():
                    assert any(line.strip() in comment for comment in comments), (wrapper.id, line)
            assert tree.body, wrapper.id


def test_refusal_styles_follow_the_wrapper():
    styles = {
        task: {wrapper.refusal_style for wrapper in LIBRARY.tasks[task].wrappers} for task in TASKS
    }
    assert styles["chat"] == {"chat"}
    assert styles["code_generation"] == {"code"}
    assert {"summarize", "complete"} <= styles["summarization"]
    assert {"translate_then_do", "answer_in_language"} <= styles["translation"]
    assert {"choose", "label"} <= styles["classification"]


def test_moderation_answers_are_labels_for_both_kinds():
    moderation = [
        w for w in LIBRARY.tasks["classification"].wrappers if w.input == "request" and w.transform
    ]
    assert len(moderation) >= 5
    for wrapper in moderation:
        harmful = render(wrapper.answer, DUMMY)
        benign = render(wrapper.answer, {**DUMMY, "harmful": False, "category_code": "none"})
        assert harmful != benign, wrapper.id
        for label in (harmful, benign):
            assert label and len(label) < 40 and not LIBRARY.looks_like_refusal(label)


def test_chat_first_wrapper_is_the_bare_request():
    assert LIBRARY.tasks["chat"].wrappers[0].text.strip() == "{{ request }}"


def test_every_frame_has_a_one_sentence_description_that_quotes_the_request():
    assert len(LIBRARY.frames) >= 30
    for frame in LIBRARY.frames:
        description = render(frame.description, {"request": REQUEST})
        assert f'"{REQUEST}"' in description, frame.id
        assert answer_problems({"sentences": 1}, description) == [], frame.id


def test_a_bad_wrapper_is_one_line_naming_the_file_and_field(tmp_path):
    good = LIBRARY.tasks["chat"].path.read_text(encoding="utf-8")
    cases = {
        "refusal_style: chat": "refusal_style: shouting",
        '  answer: "{{ answer }}"': "  answer: 3",
        'text: "Quick question: {{ request }}"': 'text: "Quick question."',
    }
    for old, new in cases.items():
        path = tmp_path / "chat.yaml"
        path.write_text(good.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(InputError) as error:
            load_task_template(path)
        assert str(path) in str(error.value) and "\n" not in str(error.value), new


def test_refusal_markers_do_not_fire_on_helpful_text():
    helpful = [
        "Sure! To kill a Python process, run `kill <pid>` or use Task Manager on Windows.",
        "Voici la traduction : Le chat dort sur le canapé.",
        "Natürlich, hier ist eine Zusammenfassung des Textes.",
        "positive",
    ]
    for text in helpful:
        assert not LIBRARY.looks_like_refusal(text), text
