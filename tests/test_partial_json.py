"""Partial JSON: one string field streamed out of argument fragments, incrementally;
the arguments parsed so far."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstream import FieldStreamer, PartialJSONError, partial_args

TRICKY = 'He said "hi"\n\tthen \\ left \u00e9 \u2014 \U0001f408\U0001f600 / end'


def stream(fragments: list[str], field: str = "answer") -> list[str]:
    streamer = FieldStreamer(field)
    pieces = [streamer.feed(fragment) for fragment in fragments]
    streamer.close()
    assert streamer.found and streamer.done and streamer.complete
    return pieces


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(set(cuts)), len(text)]
    return [text[a:b] for a, b in pairwise(bounds)]


def assert_no_half_characters(pieces: list[str]) -> None:
    """A surrogate pair is never split between two pieces (each piece is whole)."""
    joined = [p for p in pieces if p]
    for before, after in pairwise(joined):
        assert not ("\ud800" <= before[-1] <= "\udbff" and "\udc00" <= after[0] <= "\udfff")


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_every_single_cut_streams_the_field_exactly(ensure_ascii: bool) -> None:
    text = json.dumps({"answer": TRICKY, "tools_used": ["add"]}, ensure_ascii=ensure_ascii)
    for cut in range(len(text) + 1):
        pieces = stream(split(text, [cut]))
        assert "".join(pieces) == TRICKY, cut
        assert_no_half_characters(pieces)


def test_every_pair_of_cuts_inside_a_surrogate_pair_escape() -> None:
    text = json.dumps({"answer": "\U0001f408"})  # {"answer": "\ud83d\udc08"}
    start = text.index("\\")
    for first in range(start, len(text)):
        for second in range(first, len(text)):
            pieces = stream(split(text, [first, second]))
            assert [p for p in pieces if p] == ["\U0001f408"], (first, second)


@pytest.mark.parametrize("size", range(1, 14))
def test_fragments_of_every_size_through_escapes(size: int) -> None:
    answer = 'caf\u00e9 \\\\u00e9 na\u00efve \U0001f408\U0001f600 \ud83d lone \\ "q" end'
    text = json.dumps({"answer": answer})
    assert "".join(stream(split(text, list(range(0, len(text), size))))) == answer


def test_one_character_fragments_give_each_character_once() -> None:
    text = json.dumps({"answer": TRICKY})
    pieces = [p for p in stream(list(text)) if p]
    assert pieces == list(TRICKY)


def test_plain_fragments_inside_the_field_come_back_as_they_are() -> None:
    streamer = FieldStreamer("answer")
    assert streamer.feed('{"answer": "') == ""
    fragment = "plain text"
    assert streamer.feed(fragment) is fragment
    assert streamer.feed(' and more"}') == " and more"
    streamer.close()


def test_the_field_is_found_among_other_arguments_of_every_kind() -> None:
    other: dict[str, Any] = {
        "tools_used": ["add", {"nested": [1, 2.5e-3, 'a "}] string', None]}],
        "count": -12,
        "ok": True,
        "nothing": None,
        "answer_not": "decoy",
        '\u00e9scaped "key"': "x",
    }
    for position in range(len(other) + 1):
        items = list(other.items())
        items.insert(position, ("answer", TRICKY))
        text = json.dumps(dict(items))
        assert "".join(stream(split(text, list(range(0, len(text), 3))))) == TRICKY


def test_a_key_written_with_escapes_is_the_field() -> None:
    assert "".join(stream(['{"\\u0061nswer": "yes"}'])) == "yes"


def test_a_repeated_key_streams_its_first_value() -> None:
    assert "".join(stream(['{"answer": "first", "answer": "second"}'])) == "first"


def test_lone_surrogates_come_out_as_json_loads_gives_them() -> None:
    text = '{"answer": "a\\ud83d b \\udc08 c\\ud83d\\u0041 d\\ud83d"}'
    assert "".join(stream(list(text))) == json.loads(text)["answer"]


def test_raw_control_characters_are_accepted_as_json_loads_strict_false_does() -> None:
    text = '{"answer": "two\nlines"}'
    assert "".join(stream([text])) == json.loads(text, strict=False)["answer"]


def test_an_empty_answer_and_a_missing_field() -> None:
    assert stream(['{"answer": ""}']) == [""]
    streamer = FieldStreamer("answer")
    assert streamer.feed('{"other": "x"}') == ""
    streamer.close()
    assert streamer.complete and not streamer.found and not streamer.done


@pytest.mark.parametrize(
    ("text", "near", "says"),
    [
        ('["answer"]', "[", "expected '{' (tool arguments are a JSON object), found '['"),
        ('{"answer" "x"}', '{"answer" "', "expected ':' after the key, found '\"'"),
        (
            '{"answer": 42}',
            '{"answer": 4',
            "the field 'answer' is not a string: its value starts with '4'",
        ),
        ('{"answer": "a\\x"}', '{"answer": "a\\', "invalid escape '\\x' in a string"),
        (
            '{"answer": "\\u12G4"}',
            '{"answer": "\\',
            "\\u must be followed by 4 hex digits, got '12G4'",
        ),
        ('{"n": tru, "answer": "x"}', '{"n": tru,', "'tru' is not a JSON value"),
        ('{"n": [1, 2}', '{"n": [1, 2}', "'}' closes a '['"),
        ('{"n": "a\\q"}', '{"n": "a\\', "invalid escape '\\q' in a string"),
        (
            '{"answer": "x"} y',
            '{"answer": "x"} y',
            "expected nothing after the closing '}', found 'y'",
        ),
        ('{"answer": "x",}', '{"answer": "x",}', "expected a key (a string), found '}'"),
        ('{"n": @}', '{"n": @', "expected a value, found '@'"),
    ],
)
def test_bad_arguments_say_what_and_where(text: str, near: str, says: str) -> None:
    streamer = FieldStreamer("answer")
    with pytest.raises(PartialJSONError) as raised:
        streamer.feed(text)
        streamer.close()
    assert raised.value.near == near[-20:]
    assert str(raised.value) == f"{says} (at {near[-20:]!r})"
    # A failed streamer keeps failing the same way.
    with pytest.raises(PartialJSONError, match="at"):
        streamer.feed('"')
    # In two-character fragments: the same error, quoting less (what this scan read).
    streamer = FieldStreamer("answer")
    with pytest.raises(PartialJSONError) as raised:
        for fragment in split(text, list(range(0, len(text), 2))):
            streamer.feed(fragment)
        streamer.close()
    assert str(raised.value).startswith(says)
    assert near.endswith(raised.value.near or "")


def test_close_says_where_the_text_stopped() -> None:
    streamer = FieldStreamer("answer")
    streamer.feed('{"answer": "cut sh')
    with pytest.raises(PartialJSONError, match="ended inside the field's string"):
        streamer.close()
    streamer = FieldStreamer("answer")
    streamer.feed('{"answer": "done", "n": 1')
    with pytest.raises(PartialJSONError, match=r"ended before its '}'"):
        streamer.close()


def test_the_field_name_must_be_a_name() -> None:
    with pytest.raises(ValueError, match="field must be a non-empty string"):
        FieldStreamer("")


# -- the rule: any split of the same JSON streams the same text as json.loads ---------------

_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    answer=_text,
    others=st.dictionaries(_text.filter(lambda k: k != "answer"), _values, max_size=4),
    position=st.integers(min_value=0, max_value=4),
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 2]),
    data=st.data(),
)
def test_any_fragment_boundaries_stream_what_json_loads_reads(
    answer: str,
    others: dict[str, Any],
    position: int,
    ensure_ascii: bool,
    indent: int | None,
    data: st.DataObject,
) -> None:
    items = list(others.items())
    items.insert(min(position, len(items)), ("answer", answer))
    text = json.dumps(dict(items), ensure_ascii=ensure_ascii, indent=indent)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=20))
    pieces = stream(split(text, cuts))
    assert "".join(pieces) == json.loads(text)["answer"]
    assert_no_half_characters(pieces)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.data())
def test_any_input_streams_or_raises_our_error(text: str, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=6))
    streamer = FieldStreamer("answer")
    try:
        for fragment in split(text, cuts):
            streamer.feed(fragment)
        streamer.close()
    except PartialJSONError:
        return
    # Accepted: then it is JSON (an object), and the field (if any) is what it streamed.
    assert isinstance(json.loads(text, strict=False), dict)


# -- partial_args ----------------------------------------------------------------------------


def test_partial_args_of_every_prefix() -> None:
    args = {"city": "Par\u00efs \U0001f408", "days": 3, "tags": ["a", "b"], "ok": True}
    text = json.dumps(args)
    seen: list[dict[str, Any]] = []
    for end in range(len(text) + 1):
        parsed = partial_args(text[:end])
        assert isinstance(parsed, dict)
        for key, value in parsed.items():
            if isinstance(value, str):
                assert args[key].startswith(value)  # type: ignore[attr-defined]
        seen.append(parsed)
    assert seen[0] == {} and seen[-1] == args
    assert {"city": "Par"} in seen


def test_partial_args_rejects_what_cannot_become_an_object() -> None:
    with pytest.raises(PartialJSONError, match="not the start of a JSON object"):
        partial_args('{"a": x')
    with pytest.raises(PartialJSONError, match="JSON but not an object"):
        partial_args("[1, 2")
    assert partial_args("  ") == {}
