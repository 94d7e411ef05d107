"""The event model: small data classes, values with read-only metadata."""

from __future__ import annotations

import copy
import pickle

import pytest

from eventstream import End, Start, Token, Usage, event_from_json, event_to_json, normalize


def test_metadata_of_an_event_built_without_any_is_read_only_and_never_shared() -> None:
    first = Start(seq=0, run_id="a")
    with pytest.raises(TypeError, match="read-only"):
        first.metadata["x"] = 1  # type: ignore[index]
    assert Start(seq=1, run_id="b").metadata == {}


def test_a_source_changing_its_metadata_later_changes_no_event() -> None:
    metadata = {"user": "ann"}
    item = {"event": "on_chain_start", "run_id": "r", "name": "c", "metadata": metadata}
    start = next(iter(normalize([item])))
    metadata["user"] = "bob"
    assert start.metadata == {"user": "ann"}
    with pytest.raises(TypeError):
        start.metadata.update(user="eve")  # type: ignore[attr-defined]
    # It still copies, pickles and serializes as the dict it reads as.
    assert copy.deepcopy(start).metadata == {"user": "ann"}
    assert pickle.loads(pickle.dumps(start)).metadata == {"user": "ann"}
    assert event_from_json(event_to_json(start)).metadata == {"user": "ann"}


def test_usage_round_trips_through_json() -> None:
    end = End(seq=3, run_id="m", usage=Usage(input_tokens=5, output_tokens=7, total_tokens=12))
    back = event_from_json(event_to_json(end))
    assert isinstance(back, End) and back.usage == end.usage
    assert Token(seq=0, run_id="m", text="x").kind == "text"
