"""A local OpenAI-compatible server that streams scripts, for ChatOpenAI over real HTTP.

``OpenAIServer(scripts)`` serves ``POST /v1/chat/completions`` on 127.0.0.1 (a free
port, a background thread and a thread per connection, the standard library only) and
answers as OpenAI's Chat Completions API does. It holds 1,000 concurrent streams and
more: nothing in it is limited to descriptors below 1,024 (``select``), so only the
process's ``RLIMIT_NOFILE`` bounds it. The request's ``model`` names the script (a
role: ``"agent"``, ``"items"`` …); the number of assistant messages in its ``messages``
picks the turn, so one server serves many concurrent conversations and an agent loop
without counters.

With ``stream=true`` the answer is ``text/event-stream`` in chunked transfer encoding:
``chat.completion.chunk`` frames (the first carries ``role: "assistant"``), a
``delta.content`` per :class:`Text` step, a ``delta.tool_calls`` fragment per
:class:`ToolCallPiece`, a frame with the ``finish_reason``, a usage frame
(``choices: []``) when ``stream_options.include_usage`` asks for it, and
``data: [DONE]``. Without it, one ``chat.completion`` object. Every answer is sent with
``Connection: close``, so no pooled connection outlives a test's event loop.

What differs from OpenAI, on purpose:

- :class:`Reasoning` steps are not streamed: Chat Completions has no reasoning delta.
  They count as ``completion_tokens_details.reasoning_tokens`` in the usage, which is
  what OpenAI's reasoning models report.
- Usage counts script steps (``completion_tokens``) and whitespace-separated words of
  the prompt (``prompt_tokens``), not tokenizer tokens.
- A :class:`Fail` step drops the connection mid-stream (the chunked body never ends,
  so the client raises as on a dropped provider connection); as the first step, or in a
  non-streaming request, it is an HTTP 500 with ``Fail.message`` in an OpenAI error body.
- An unknown model or a missing turn is an HTTP 400 whose message says which scripts
  and turns exist.

The server logs what it saw, thread-safely: ``requests`` (parsed bodies) and
``disconnects`` (streams the client closed before their end), so a test can prove that
cancelling a run reached the HTTP request (``wait_for_disconnect``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import selectors
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from eventstream._extras import missing
from eventstream.testing._cat import build_cat_agent
from eventstream.testing._script import Fail, Reasoning, Step, Text, ToolCallPiece

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

__all__ = ["OpenAIServer", "chat_model", "openai_cat_agent"]

_PATH = "/v1/chat/completions"


# -- what to answer: pure functions of the scripts and the request body ------------------


class _HTTPError(Exception):
    """An OpenAI-style error answer: status code and the ``error`` object's fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True, slots=True)
class _Drop:
    """Marks the point where a streamed answer drops the connection."""


_DROP = _Drop()


def _parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"the request body is not valid JSON: {exc}"
        raise _HTTPError(400, msg) from exc
    if not isinstance(body, dict):
        msg = f"the request body must be a JSON object, got {type(body).__name__}"
        raise _HTTPError(400, msg)
    return body


def _pick_turn(scripts: Mapping[str, Sequence[Sequence[Step]]], body: dict[str, Any]) -> list[Step]:
    model = body.get("model")
    if not isinstance(model, str):
        msg = "'model' is required and must be a string: the name of a script"
        raise _HTTPError(400, msg, param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        msg = "'messages' is required and must be a list of message objects"
        raise _HTTPError(400, msg, param="messages")
    if model not in scripts:
        known = ", ".join(repr(name) for name in scripts) or "none"
        msg = (
            f"unknown model {model!r}: this test server has scripts for {known}; "
            f"the request's 'model' picks the script"
        )
        raise _HTTPError(400, msg, param="model", code="model_not_found")
    turns = scripts[model]
    number = sum(m.get("role") == "assistant" for m in messages)
    if number >= len(turns):
        msg = (
            f"script {model!r} has {len(turns)} turn(s) but the request has {number} "
            f"assistant message(s), so it asks for turn {number + 1}: add a turn to the script"
        )
        raise _HTTPError(400, msg, param="messages", code="turn_not_scripted")
    return list(turns[number])


def _fail_first(steps: Sequence[Step]) -> Fail | None:
    """The Fail step that comes before anything streamable, if any."""
    for step in steps:
        if isinstance(step, Fail):
            return step
        if not isinstance(step, Reasoning):
            return None
    return None


def _server_error(fail: Fail) -> _HTTPError:
    return _HTTPError(500, fail.message, kind="server_error")


def _words(content: Any) -> int:
    if isinstance(content, str):
        return len(content.split())
    if isinstance(content, list):
        return sum(_words(part.get("text")) for part in content if isinstance(part, dict))
    return 0


def _usage(body: dict[str, Any], steps: Sequence[Step]) -> dict[str, Any]:
    prompt = sum(_words(m.get("content")) for m in body["messages"])
    reasoning = sum(isinstance(s, Reasoning) for s in steps)
    completion = sum(isinstance(s, (Text, ToolCallPiece, Reasoning)) for s in steps)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _fragment(piece: ToolCallPiece) -> dict[str, Any]:
    function: dict[str, Any] = {}
    if piece.name is not None:
        function["name"] = piece.name
    function["arguments"] = piece.args
    fragment: dict[str, Any] = {"index": piece.index}
    if piece.id is not None:
        fragment["id"] = piece.id
        fragment["type"] = "function"
    fragment["function"] = function
    return fragment


def _chunks(body: dict[str, Any], steps: Sequence[Step]) -> Iterator[dict[str, Any] | _Drop]:
    """The ``chat.completion.chunk`` objects of a streamed answer, or ``_DROP``."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    head: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_eventstream",
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        frame = {
            **head,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            frame["usage"] = None
        return frame

    streamed = [s for s in steps if not isinstance(s, Reasoning)]
    # OpenAI opens a text answer with an empty content delta that carries the role, and
    # puts the role on the first fragment of an answer that starts with a tool call.
    first_is_call = bool(streamed) and isinstance(streamed[0], ToolCallPiece)
    if not first_is_call:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
    called = False
    for position, step in enumerate(streamed):
        if isinstance(step, Fail):
            yield _DROP
            return
        if isinstance(step, Text):
            yield chunk({"content": step.text})
            continue
        assert isinstance(step, ToolCallPiece)
        called = True
        delta: dict[str, Any] = {"tool_calls": [_fragment(step)]}
        if position == 0:
            delta = {"role": "assistant", "content": None, **delta, "refusal": None}
        yield chunk(delta)
    yield chunk({}, "tool_calls" if called else "stop")
    if include_usage:
        yield {**head, "choices": [], "usage": _usage(body, steps)}


def _completion(body: dict[str, Any], steps: Sequence[Step]) -> dict[str, Any]:
    """The ``chat.completion`` object of a non-streamed answer."""
    for step in steps:
        if isinstance(step, Fail):
            raise _server_error(step)
    content = "".join(s.text for s in steps if isinstance(s, Text))
    calls: dict[int, dict[str, Any]] = {}
    for step in steps:
        if isinstance(step, ToolCallPiece):
            call = calls.setdefault(
                step.index,
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if step.id is not None:
                call["id"] = step.id
            if step.name is not None:
                call["function"]["name"] = step.name
            call["function"]["arguments"] += step.args
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content if content or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_eventstream",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": _usage(body, steps),
    }


# -- HTTP: the only part that does I/O ------------------------------------------------------


class _ClientGone(Exception):
    """The client closed the connection while an answer was being streamed."""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 for chunked streaming; every answer is sent with ``Connection: close``.
    # A kept-alive connection would stay in the client's pool after the test: langchain
    # caches its httpx clients across event loops, so a test's pooled connection would
    # outlive its loop and surface later as a ResourceWarning in some other test.
    protocol_version = "HTTP/1.1"
    # One small write per SSE frame: without this, Nagle's algorithm holds frames back
    # until the previous one is acknowledged.
    disable_nagle_algorithm = True
    server: _HTTPServer
    _streaming = False
    _watch: selectors.BaseSelector | None = None

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        if self._watch is not None:
            self._watch.close()
        self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        # Tests read ``OpenAIServer.requests``; a line on stderr per request is noise.
        pass

    def do_GET(self) -> None:
        self.close_connection = True
        self._send_json(404, _not_found(self.command, self.path).body)

    def do_POST(self) -> None:
        self.close_connection = True
        self._streaming = False
        owner = self.server.owner
        try:
            raw = self._read_body()
            if self.path.split("?", 1)[0].rstrip("/") != _PATH:
                raise _not_found(self.command, self.path)
            body = _parse_body(raw)
            owner._log_request(body)
            steps = _pick_turn(owner.scripts, body)
            if body.get("stream") is True:
                fail = _fail_first(steps)
                if fail is not None:
                    raise _server_error(fail)
                self._stream(body, steps, owner)
            else:
                self._send_json(200, _completion(body, steps))
        except _HTTPError as error:
            self._send_json(error.status, error.body)
        except _ClientGone:
            owner._log_disconnect()
        except Exception as exc:
            # A bug of the server itself: say so to the client when the answer has not
            # started, then let socketserver print the traceback.
            if not self._streaming:
                message = f"the test server failed: {type(exc).__name__}: {exc}"
                self._send_json(500, _HTTPError(500, message, kind="server_error").body)
            raise

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            raise _HTTPError(411, "the request needs a Content-Length header")
        try:
            size = int(length)
        except ValueError:
            raise _HTTPError(400, f"Content-Length is not a number: {length!r}") from None
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise _HTTPError(400, f"bad chunk size line {line!r}") from None
            if size == 0:
                # Skip trailers up to the blank line that ends the body.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, body: dict[str, Any], steps: Sequence[Step], owner: OpenAIServer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self._streaming = True
        for position, chunk in enumerate(_chunks(body, steps)):
            if position and owner.delay:
                self._pause(owner.delay)
            if isinstance(chunk, _Drop):
                # A dropped provider connection: the chunked body never ends, so the
                # client's HTTP library reports an incomplete response.
                return
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        if owner.delay:
            self._pause(owner.delay)
        # [DONE] and the end of the chunked body go in one write: a client that closes
        # as soon as it reads [DONE] (the openai SDK does) has had the whole stream, and
        # must not count as a disconnect because the last bytes met a closed socket.
        self._write_chunk(b"data: [DONE]\n\n", last=True)

    def _write_chunk(self, data: bytes, *, last: bool = False) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n%s" % (len(data), data, b"0\r\n\r\n" if last else b""))
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _ClientGone from exc

    def _pause(self, seconds: float) -> None:
        """Wait between frames, noticing at once when the client closes the connection."""
        if self._watch is None:
            # A selector, not select.select: that fails for descriptors past 1,023.
            self._watch = _Selector()
            self._watch.register(self.connection, selectors.EVENT_READ)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self._watch.select(left):
                return
            try:
                peeked = self.connection.recv(1, socket.MSG_PEEK)
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise _ClientGone from exc
            if not peeked:
                raise _ClientGone
            # Bytes from the client mid-answer (unusual): nothing to wait for on the
            # socket, so sleep out the rest.
            time.sleep(left)
            return


# poll(2) where there is one: no descriptor of its own per connection (epoll's would
# double them) and no limit on their numbers (select(2)'s is 1,024).
_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.DefaultSelector
)


def _not_found(method: str, path: str) -> _HTTPError:
    msg = f"this test server answers POST {_PATH} only, not {method} {path}"
    return _HTTPError(404, msg, code="unknown_url")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a load test opens
    # hundreds of model requests at once.
    request_queue_size = 1024

    def __init__(self, owner: OpenAIServer) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine
        # without DNS; the name is not used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections[connection] = threading.current_thread()
            else:
                self._connections.pop(connection, None)

    def close_connections(self, timeout: float) -> None:
        """End the connections still open and wait for their handler threads."""
        with self._lock:
            open_now = list(self._connections.items())
        for connection, _ in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away (or a connection stop() ends) is not a server bug.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


# -- the public object ----------------------------------------------------------------------


class OpenAIServer:
    """A local OpenAI-compatible Chat Completions server that plays scripts.

    ``scripts`` maps a model name (a role) to its turns, as :class:`ScriptedChatModel`
    takes them; ``delay`` is the pause in seconds between streamed frames. Use it as a
    context manager (``with`` or ``async with``), or call :meth:`start` and :meth:`stop`.
    Point ``ChatOpenAI(base_url=server.base_url, api_key="test", model=role)`` at it,
    or use :func:`chat_model`.
    """

    def __init__(self, scripts: Mapping[str, Sequence[Sequence[Step]]], delay: float = 0.0) -> None:
        self.scripts: dict[str, list[list[Step]]] = {
            name: [list(turn) for turn in turns] for name, turns in scripts.items()
        }
        self.delay = delay
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log = threading.Condition()
        self._requests: list[dict[str, Any]] = []
        self._disconnects = 0
        self._stopping = False

    # lifecycle

    def start(self) -> OpenAIServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            msg = "this OpenAIServer is already running"
            raise RuntimeError(msg)
        self._stopping = False
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"OpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, end open connections, and free the port. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping = True
        httpd.shutdown()
        thread.join(timeout)
        httpd.server_close()
        httpd.close_connections(timeout)
        self._httpd = self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> OpenAIServer:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stopping joins threads; keep the event loop free meanwhile.
        await asyncio.to_thread(self.stop)

    # where it serves

    @property
    def port(self) -> int:
        """The port the server listens on (only while it runs)."""
        if self._httpd is None:
            msg = "the OpenAIServer is not running: use it as a context manager or call start()"
            raise RuntimeError(msg)
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # what it saw

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The parsed JSON bodies of the requests so far, in arrival order (a copy)."""
        with self._log:
            return list(self._requests)

    @property
    def disconnects(self) -> int:
        """How many streamed answers the client closed before their end."""
        with self._log:
            return self._disconnects

    def wait_for_disconnect(self, timeout: float = 5.0, count: int = 1) -> bool:
        """Block until ``disconnects >= count``; ``False`` if ``timeout`` passes first.

        Blocking: from async code, ``await asyncio.to_thread(server.wait_for_disconnect)``.
        """
        with self._log:
            return self._log.wait_for(lambda: self._disconnects >= count, timeout)

    def _log_request(self, body: dict[str, Any]) -> None:
        with self._log:
            self._requests.append(body)
            self._log.notify_all()

    def _log_disconnect(self) -> None:
        if self._stopping:
            return
        with self._log:
            self._disconnects += 1
            self._log.notify_all()


def chat_model(server: OpenAIServer, role: str, **kwargs: Any) -> ChatOpenAI:
    """A ``ChatOpenAI`` that streams ``role``'s script from ``server``.

    ``kwargs`` go to ``ChatOpenAI`` and override the defaults (``streaming=True``,
    ``max_retries=0`` so a scripted failure surfaces at once, a 30 s ``timeout``).
    """
    from pydantic import SecretStr

    try:
        from langchain_openai import ChatOpenAI
    except ModuleNotFoundError as exc:
        raise missing(exc, "chat_model()", "demo") from exc
    options: dict[str, Any] = {"streaming": True, "max_retries": 0, "timeout": 30.0, **kwargs}
    return ChatOpenAI(base_url=server.base_url, api_key=SecretStr("test"), model=role, **options)


def openai_cat_agent(server: OpenAIServer) -> Any:
    """The cat agent with every model a ``ChatOpenAI`` on ``server``.

    Start the server with :data:`CAT_SCRIPTS`.
    """
    return build_cat_agent(lambda role: chat_model(server, role))
