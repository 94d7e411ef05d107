"""SSE framing (``eventstream.adapters._sse``): strings in, frames an EventSource reads."""

from __future__ import annotations

import pytest
from eventstream.adapters import sse_message

from tests.test_adapters import SSEParser


@pytest.mark.parametrize("data", ['{"a":1}', "line one\nline two", "cr\ronly", "crlf\r\nend", ""])
def test_any_text_arrives_as_one_message_with_the_same_data(data: str) -> None:
    frame = sse_message(data, event="kind", id="7")
    [message] = SSEParser().feed(frame)
    assert message.data == data.replace("\r\n", "\n").replace("\r", "\n")
    assert (message.event, message.last_event_id) == ("kind", "7")


def test_a_frame_without_name_or_id_is_a_default_message() -> None:
    assert sse_message("[DONE]") == "data: [DONE]\n\n"
    [message] = SSEParser().feed(sse_message("x"))
    assert message.event == "message"


@pytest.mark.parametrize("field", ["event", "id"])
def test_a_name_or_id_with_a_line_break_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=rf"an SSE {field} is one line"):
        sse_message("x", **{field: "a\nid: 9"})
