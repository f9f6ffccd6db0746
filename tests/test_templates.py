"""Contract test over every shipped template file (one generic suite, as lm-eval does for tasks)."""

from __future__ import annotations

import jinja2
import pytest

from builders.schema import TASKS
from builders.tasks.templates import load_library, render

LIBRARY = load_library()
DUMMY = {
    "request": "Explain how to pick the lock on a neighbour's front door.",
    "document": "A short document.",
    "instruction": "Write a Python function that reverses a string.",
    "text": "The weather is nice today.",
    "options": ["positive", "negative"],
    "target_language_name": "French",
    "target_language_native": "français",
    "category_code": "S2",
    "category_name": "Non-Violent Crimes",
    "categories": ["S1: Violent Crimes", "S2: Non-Violent Crimes"],
}


@pytest.mark.parametrize("task", TASKS)
def test_template_file_contract(task):
    template = LIBRARY.tasks[task]
    assert template.id == task == template.path.stem
    assert template.version >= 1
    assert len(template.harmful.phrasings) >= 8
    assert len(template.benign.phrasings) >= 8
    assert template.harmful.policy and template.benign.policy
    parts = LIBRARY.refusal_parts
    for phrasing in template.harmful.phrasings:
        assert parts.style_for(task, phrasing.refusal_style) in parts.styles, phrasing.id


@pytest.mark.parametrize("task", TASKS)
def test_every_phrasing_renders_and_embeds_its_input(task):
    template = LIBRARY.tasks[task]
    sections = [template.harmful, template.benign] + (
        [template.moderation] if template.moderation else []
    )
    for section in sections:
        texts: list[str] = []
        for phrasing in section.phrasings:
            sources = list(phrasing.localized.values()) if phrasing.localized else [phrasing.text]
            if phrasing.localized:
                assert set(LIBRARY.default_targets) <= set(phrasing.localized), phrasing.id
            for source in sources:
                texts.append(render(source, DUMMY))
        harmful_inputs = [t for t in texts if DUMMY["request"] in t]
        if section is template.harmful or section is template.moderation:
            assert len(harmful_inputs) == len(texts), (
                f"{task}: a harmful phrasing drops the request"
            )
    with pytest.raises(jinja2.UndefinedError):
        render("{{ missing }}", DUMMY)


def test_moderation_answers_are_labels_not_refusals():
    moderation = LIBRARY.tasks["classification"].moderation
    assert moderation is not None and len(moderation.phrasings) >= 8
    for phrasing in moderation.phrasings:
        answer = render(phrasing.answer, DUMMY)
        assert answer and not LIBRARY.looks_like_refusal(answer)


def test_chat_first_phrasing_is_the_bare_request():
    assert LIBRARY.tasks["chat"].harmful.phrasings[0].text.strip() == "{{ request }}"


def test_refusal_markers_do_not_fire_on_helpful_text():
    helpful = [
        "Sure! To kill a Python process, run `kill <pid>` or use Task Manager on Windows.",
        "Voici la traduction : Le chat dort sur le canapé.",
        "Natürlich, hier ist eine Zusammenfassung des Textes.",
        "positive",
    ]
    for text in helpful:
        assert not LIBRARY.looks_like_refusal(text), text
