"""eventstream: LangChain's streaming output as one small, typed event stream.

from eventstream import normalize, select

events = normalize(agent.astream_events(inputs, version="v2"))
async for token in select(events, types=["token"], tags=["agent_llm"]):
    print(token.text, end="")
"""

import typing as _typing

from eventstream._answer import (
    Answer,
    AnswerEnd,
    AnswerReader,
    AnswerText,
    NoAncestryError,
    answer,
)
from eventstream._callbacks import CallbackSource
from eventstream._errors import (
    CallbackSourceError,
    EventStreamError,
    MalformedItemError,
    RecordingError,
    RunStateError,
    UnknownEventError,
    UnknownFormatError,
)
from eventstream._events import (
    Custom,
    End,
    Event,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    ToolResult,
    Usage,
)
from eventstream._json import (
    EVENT_ADAPTER,
    event_from_json,
    event_json_schema,
    event_to_json,
)
from eventstream._normalizer import Normalizer
from eventstream._partial_calls import PartialToolCall, PartialToolCalls, partial_tool_calls
from eventstream._partial_json import FieldStreamer, PartialJSONError, partial_args
from eventstream._readers.modes import STREAM_MODES
from eventstream._record import Recorder, Replay, record, replay
from eventstream._select import Selection, Selector, select
from eventstream._serialize import OpaqueValue, ReplayedError
from eventstream._stream import EventStream, normalize

if _typing.TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__version__ = "0.1.0"
"""This eventstream's version (also ``eventstream --version``)."""

__all__ = [
    "EVENT_ADAPTER",
    "STREAM_MODES",
    "Answer",
    "AnswerEnd",
    "AnswerReader",
    "AnswerText",
    "CallbackSource",
    "CallbackSourceError",
    "Custom",
    "End",
    "Event",
    "EventStream",
    "EventStreamError",
    "FieldStreamer",
    "MalformedItemError",
    "NoAncestryError",
    "Normalizer",
    "OpaqueValue",
    "PartialJSONError",
    "PartialToolCall",
    "PartialToolCalls",
    "Recorder",
    "RecordingError",
    "Replay",
    "ReplayedError",
    "RunStateError",
    "Selection",
    "Selector",
    "Start",
    "Token",
    "ToolCall",
    "ToolCallChunk",
    "ToolResult",
    "UnknownEventError",
    "UnknownFormatError",
    "Usage",
    "answer",
    "event_from_json",
    "event_json_schema",
    "event_to_json",
    "normalize",
    "partial_args",
    "partial_tool_calls",
    "record",
    "replay",
    "select",
]


def _source_checkout_adapters() -> None:
    """Run from a source checkout, ``eventstream.adapters`` is the checkout's top-level
    ``adapters/`` folder, as an install maps it.

    The package installs ``adapters/`` as ``eventstream.adapters``; an editable install
    maps it with a finder of its own. Run from the checkout's root after a regular
    install, though, ``./eventstream`` comes first on ``sys.path`` and shadows the
    installed package, and it has no ``adapters`` inside: this finder, consulted last,
    supplies it. An installed package has ``adapters`` inside and gets no finder.
    """
    import os
    import sys

    here = os.path.dirname(__file__)
    adapters = os.path.join(os.path.dirname(here), "adapters")
    init = os.path.join(adapters, "__init__.py")
    if os.path.isdir(os.path.join(here, "adapters")) or not os.path.isfile(init):
        return

    class AdaptersFinder:
        def find_spec(
            self,
            name: str,
            path: "Sequence[str] | None",
            target: "ModuleType | None" = None,
            /,
        ) -> "ModuleSpec | None":
            if name != "eventstream.adapters":
                return None
            from importlib.util import spec_from_file_location

            return spec_from_file_location(name, init, submodule_search_locations=[adapters])

    sys.meta_path.append(AdaptersFinder())


_source_checkout_adapters()
del _source_checkout_adapters
