"""eventstream: LangChain's streaming output as one small, typed event stream.

from eventstream import normalize, select

events = normalize(agent.astream_events(inputs, version="v2"))
async for token in select(events, types=["token"], tags=["agent_llm"]):
    print(token.text, end="")
"""

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
