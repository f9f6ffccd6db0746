"""train_safety.evaluation.first_turn: which part of a reply gets scored."""

from __future__ import annotations

import pytest

from train_safety.evaluation.first_turn import first_turn

COMPLY_THEN_APOLOGISE = "Voici la traduction : comment ouvrir la porte.\n\nI'm sorry, I can't help."


@pytest.mark.parametrize(
    ("reply", "turn"),
    [
        ("Bonjour le monde.<end_of_turn>\n<start_of_turn>user\nMore?", "Bonjour le monde."),
        ("Sure.<|eot_id|><|start_header_id|>user<|end_header_id|>\nhi", "Sure."),
        ("Sure.<|im_end|>\n<|im_start|>user\nhi", "Sure."),
        # Gemma's template with its special tokens decoded away: a bare role word opens a turn
        ("The answer is 4.\nuser\nAnd 5+5?\nmodel\n10", "The answer is 4."),
        ("Positive.\nUser: and this one?\nAssistant: Negative.", "Positive."),
        ("Done.\n### Instruction:\nWrite more.", "Done."),
        # a label on the first line is the model announcing itself, not a new turn
        ("Assistant: I can't help with that.", "Assistant: I can't help with that."),
        # "user" inside a sentence is not a role line
        (
            "Each user gets a token.\nThe model checks it.",
            "Each user gets a token.\nThe model checks it.",
        ),
        ("  plain reply  ", "plain reply"),
    ],
)
def test_turn_mode_cuts_at_the_next_turn(reply, turn):
    assert first_turn(reply, "turn") == turn


def test_paragraph_mode_keeps_the_first_paragraph_except_for_code():
    assert first_turn(COMPLY_THEN_APOLOGISE, "paragraph") == (
        "Voici la traduction : comment ouvrir la porte."
    )
    assert first_turn(COMPLY_THEN_APOLOGISE, "turn") == COMPLY_THEN_APOLOGISE
    code = "def f(x):\n    y = x\n\n    return y\n<end_of_turn>junk"
    assert (
        first_turn(code, "paragraph", keep_paragraphs=True)
        == "def f(x):\n    y = x\n\n    return y"
    )
    assert first_turn(code, "paragraph") == "def f(x):\n    y = x"


def test_off_keeps_everything_and_unknown_modes_fail():
    assert first_turn("a<end_of_turn>b", "off") == "a<end_of_turn>b"
    with pytest.raises(ValueError, match="unknown first_turn mode 'first'"):
        first_turn("a", "first")
