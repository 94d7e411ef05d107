"""``event_to_json`` never fails: what JSON cannot carry becomes a documented stand-in.

Each kind of value that broke a run's streams for good (a lone surrogate in a token,
a cycle, nesting too deep for pydantic, a value whose ``str()`` raises) is checked on
its own, at the bound where one applies, through what writes events to clients
(``item_to_json`` and the frames of each wire format), and for any mix of them.
The common path is unchanged: the careful path writes a clean event byte for byte as
the common path does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from eventstream.adapters import item_to_json, ndjson_line, sse_frame, ws_message
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from eventstream import (
    EVENT_ADAPTER,
    Custom,
    End,
    Start,
    Token,
    ToolResult,
    event_from_json,
    event_to_json,
    normalize,
)
from eventstream._json import (
    CYCLE,
    MAX_DEPTH,
    TOO_DEEP,
    _careful_json,
    safe_value,
    valid_text,
)

from .conftest import cat_events


class NoStr:
    """A value pydantic cannot serialize whose ``str()`` and ``repr()`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


class StrNotText:
    def __str__(self) -> str:
        return 5  # type: ignore[return-value]


STAND_IN = f"<unserializable {__name__}.NoStr>"


def nested(levels: int) -> Any:
    """``levels`` lists, one inside the other, around ``"core"``."""
    value: Any = "core"
    for _ in range(levels):
        value = [value]
    return value


def levels_of(value: Any) -> tuple[int, Any]:
    """How many lists are nested in ``value`` (from :func:`nested`), and the core."""
    count = 0
    while isinstance(value, list):
        (value,) = value
        count += 1
    return count, value


def end(**fields: Any) -> End:
    return End(**{"seq": 3, "run_id": "r1", "name": "tool", "run_type": "tool", **fields})


def written(event: Any) -> dict[str, Any]:
    """The event as a client reads it: JSON that is valid UTF-8, parsed."""
    text = event_to_json(event)
    text.encode("utf-8")  # strict: no surrogates got through
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


# -- each failure, reproduced --------------------------------------------------------------


def test_a_lone_surrogate_in_a_token_becomes_u_fffd() -> None:
    data = written(Token(seq=0, run_id="r1", name="m", text="a\ud800b\udfffc"))
    assert data["text"] == "a\ufffdb\ufffdc"
    assert data["type"] == "token" and data["name"] == "m"


def test_surrogates_in_keys_tags_names_and_metadata() -> None:
    data = written(
        end(
            tags=("ok", "t\udc80"),
            metadata={"k\ud800": "v\udbff"},
            output={"\udc00": ["x\ud83d"]},
        )
    )
    assert data["tags"] == ["ok", "t\ufffd"]
    assert data["metadata"] == {"k\ufffd": "v\ufffd"}
    assert data["output"] == {"\ufffd": ["x\ufffd"]}


def test_a_cycle_is_cut_where_it_comes_round() -> None:
    output: dict[str, Any] = {"name": "loop", "items": [1, 2]}
    output["self"] = output
    output["items"].append(output["items"])
    data = written(end(output=output))
    assert data["output"] == {"name": "loop", "items": [1, 2, CYCLE], "self": CYCLE}


def test_a_value_shared_twice_is_not_a_cycle() -> None:
    shared = ["same"]
    data = written(end(output={"a": shared, "b": shared, "bad": NoStr()}))
    assert data["output"] == {"a": ["same"], "b": ["same"], "bad": STAND_IN}


def test_nesting_too_deep_for_pydantic_is_cut_at_max_depth() -> None:
    data = written(end(output=nested(1000)))
    levels, core = levels_of(data["output"])
    assert (levels, core) == (MAX_DEPTH, TOO_DEEP)


def test_nesting_at_the_bound_is_written_whole() -> None:
    # A surrogate elsewhere sends the event down the careful path; MAX_DEPTH levels pass
    # whole there, one more level is cut.
    at_bound = written(end(name="x\ud800", output=nested(MAX_DEPTH)))
    assert levels_of(at_bound["output"]) == (MAX_DEPTH, "core")
    beyond = written(end(name="x\ud800", output=nested(MAX_DEPTH + 1)))
    assert levels_of(beyond["output"]) == (MAX_DEPTH, TOO_DEEP)


def test_deep_nesting_in_dicts_and_in_metadata() -> None:
    deep: Any = {}
    for _ in range(700):
        deep = {"a": deep}
    data = written(Custom(seq=0, run_id="r1", name="c", data=deep, metadata={"m": deep}))
    # Levels count from the field's own value: the metadata dict is the first.
    for value, levels in ((data["data"], MAX_DEPTH), (data["metadata"]["m"], MAX_DEPTH - 1)):
        count = 0
        while isinstance(value, dict):
            value = value["a"]
            count += 1
        assert (count, value) == (levels, TOO_DEEP)


def test_a_value_whose_str_raises_names_its_type() -> None:
    data = written(ToolResult(seq=1, run_id="r1", output=NoStr(), error=None))
    assert data["output"] == STAND_IN
    data = written(end(output={"x": StrNotText()}))
    assert data["output"] == {"x": f"<unserializable {__name__}.StrNotText>"}


def test_a_key_whose_str_raises() -> None:
    data = written(end(output={NoStr(): 1, 2: "two"}))
    assert data["output"] == {STAND_IN: 1, "2": "two"}


def test_bytes_that_are_not_utf8() -> None:
    data = written(end(output={"raw": b"ok\xff\xfe", "nan": float("nan")}))
    assert data["output"] == {"raw": "ok\ufffd\ufffd", "nan": None}


@dataclasses.dataclass
class Box:
    label: str
    inside: Any


class Model(BaseModel):
    label: str
    inside: Any


def test_models_dataclasses_and_collections_are_opened_up() -> None:
    loop: list[Any] = []
    box = Box("b\ud800", loop)
    loop.append(box)
    model = Model(label="m", inside=NoStr())
    data = written(
        end(output={"box": box, "model": model, "set": {NoStr()}, "deque": deque([NoStr()])})
    )
    assert data["output"] == {
        "box": {"label": "b\ufffd", "inside": [CYCLE]},
        "model": {"label": "m", "inside": STAND_IN},
        "set": [STAND_IN],
        "deque": [STAND_IN],
    }


def test_a_stand_in_event_still_validates_as_its_type() -> None:
    loop: list[Any] = []
    loop.append(loop)
    event = end(tags=("t\ud800",), output=loop, error="e\udc80")
    back = event_from_json(event_to_json(event))
    assert isinstance(back, End)
    assert back.tags == ("t\ufffd",) and back.output == [CYCLE] and back.error == "e\ufffd"


@pytest.mark.parametrize("levels", [199, 200, 252, 253, 254, 1000])
def test_event_from_json_reads_whatever_event_to_json_writes(levels: int) -> None:
    # pydantic writes up to about 253 levels but reads up to 200.
    back = event_from_json(event_to_json(end(output=nested(levels))))
    assert isinstance(back, End)
    whole, cut = (levels, "core"), (MAX_DEPTH, TOO_DEEP)
    assert levels_of(back.output) in ((whole,) if levels <= MAX_DEPTH else (whole, cut))


def test_event_from_json_still_rejects_what_is_not_json() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="Invalid JSON"):
        event_from_json('{"seq": 1, "type": "end", ')
    with pytest.raises(ValidationError, match="run_id"):
        event_from_json(json.dumps({"seq": 1, "type": "end", "output": nested(500)}))


# -- the common path is untouched --------------------------------------------------------------


@pytest.fixture(scope="module")
def cat_run() -> list[Any]:
    return list(normalize(asyncio.run(cat_events("v2"))))


def test_the_common_path_is_pydantics_own(cat_run: list[Any]) -> None:
    for event in cat_run:
        assert event_to_json(event) == EVENT_ADAPTER.dump_json(event, fallback=str).decode()


def test_the_careful_path_writes_a_clean_event_as_the_common_path(cat_run: list[Any]) -> None:
    assert len(cat_run) > 50
    for event in cat_run:
        assert _careful_json(event) == event_to_json(event)


def test_valid_text_keeps_valid_text_as_it_is() -> None:
    text = "plain, ünïcode, 😀 and \u2028"
    assert valid_text(text) is text
    assert valid_text("\ud83d\ude00") == "\ufffd\ufffd"  # a pair as two code points


# -- every wire format ----------------------------------------------------------------------


def nasty_events() -> Iterator[Any]:
    loop: dict[str, Any] = {}
    loop["me"] = loop
    yield Start(seq=0, run_id="r1", name="agent\udc80", input=loop)
    yield Token(seq=1, run_id="r1", text="\ud800")
    yield Custom(seq=2, run_id="r1", name="c", data=nested(2000))
    yield end(output=NoStr())


@pytest.mark.parametrize("event", list(nasty_events()), ids=lambda e: e.type)
def test_every_wire_format_writes_the_event(event: Any) -> None:
    line = item_to_json(event)
    assert json.loads(line)["seq"] == event.seq
    assert "\n" not in line
    line.encode("utf-8")
    assert sse_frame(event).endswith(f"data: {line}\n\n")
    assert ndjson_line(event) == line + "\n"
    assert ws_message(event) == line


# -- anything at all ---------------------------------------------------------------------------

texts = st.one_of(
    st.text(max_size=8),
    st.lists(st.sampled_from(["a", "é", "\ud800", "\udfff", "\n"]), max_size=4).map("".join),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    texts,
    st.binary(max_size=8),
    st.builds(NoStr),
    st.builds(StrNotText),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(texts, st.integers(), st.builds(NoStr)), inner, max_size=4),
        st.builds(Box, texts, inner),
    ),
    max_leaves=20,
)


def tie_knots(value: Any, draw: Any) -> Any:
    """Make some containers contain themselves (hypothesis draws trees only)."""
    if isinstance(value, list | tuple):
        for item in value:
            tie_knots(item, draw)
    elif isinstance(value, dict):
        for item in value.values():
            tie_knots(item, draw)
    if isinstance(value, list) and value and draw(st.booleans()):
        value.append(value)
    if isinstance(value, dict) and draw(st.booleans()):
        value["knot"] = value
    return value


@settings(max_examples=300, deadline=None)
@given(st.data(), values, values, texts)
def test_any_value_anywhere_gives_json_an_event_reader_accepts(
    data: Any, output: Any, metadata_value: Any, name: str
) -> None:
    output = tie_knots(output, data.draw)
    event = end(name=name, output=output, metadata={"m": metadata_value}, error=name)
    text = event_to_json(event)
    text.encode("utf-8")
    back = event_from_json(text)
    assert isinstance(back, End) and back.seq == 3
    assert back.name == back.error == valid_text(name)
    # Whichever path wrote it, the output is what safe_value makes of it.
    assert json.loads(text)["output"] == json.loads(json.dumps(safe_value(output)))
