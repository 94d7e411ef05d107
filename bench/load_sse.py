"""Load: 200 concurrent cat-agent runs, each read by its own SSE client; in one process, or
over two processes and one Redis.

    python bench/load_sse.py            # 200 concurrent runs, one uvicorn worker
    python bench/load_sse.py --redis    # the same, then 2 workers on one Redis, side by side
    python bench/load_sse.py --quick    # 50 runs, well under a minute
    python bench/load_sse.py --source modes   # runs streamed with LangGraph's stream modes

With ``--redis``: a ``redis-server`` on a free loopback port (a temporary directory, no
persistence) and two server processes, each with a
:class:`~eventstream.adapters.RedisRunRegistry` on it; each client starts its run on
one process and reads it from the other (every event crosses Redis), half the clients
each way. The figures are set beside those of one in-process worker at the same load
(the goal: p99 added latency through Redis at most 2× the in-process figure), with the
Redis memory a finished run takes (``used_memory`` after the load less before, per
run, while the finished runs are held for their TTL).

The server is a child process: ``eventstream serve``'s app (``create_app``) on one
uvicorn worker, running the cat agent on ``ChatOpenAI`` against the test kit's
OpenAI-compatible server, itself in a second child process (the provider is elsewhere),
pausing ``DELAY`` seconds between streamed frames as a provider streaming tokens
does. The clients are asyncio tasks with
httpx in this process, over loopback: each starts a run (``POST /runs``) and reads all
its events as SSE. Every client checks that its answer, tool calls and tool results
are exact, its seqs run 0, 1, 2 … without a hole, and every event belongs to its own
run (no LangChain run id is seen by two clients: no cross-talk).

Latency, and how it is measured: the server stamps each normalized event with
``time.monotonic()`` when it leaves ``normalize`` (that is, as soon as LangChain has
turned the model's HTTP chunk into an event), the moment it enters the run's buffer;
the client stamps each token when its SSE frame has been read from the socket and
parsed. Both processes read the same clock (``CLOCK_MONOTONIC`` is system-wide on
Linux). The difference is what eventstream's serving path adds to a token (buffer,
subscriber wake-up, SSE encoding, uvicorn, TCP loopback, the client's parsing), under
the load of all the other runs on the same worker. The stamping itself is one extra
async generator step per event, about a microsecond. Nothing is asserted: the table
reports what this machine did in this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from eventstream.adapters import RUN_SOURCES, RedisRunRegistry, Run, RunRegistry, RunSource

from eventstream import Event
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_QUESTION,
    HIDING_SPOT,
    ITEMS_TEXT,
    MOOD_TEXT,
)

__all__ = ["Figures", "measure"]

TOOL_OUTPUTS = {"where_cat_is_hiding": HIDING_SPOT, "get_items": ITEMS_TEXT, "cat_mood": MOOD_TEXT}
DELAY = 0.01
"""The model server's pause between streamed frames (about 100 tokens/s per stream)."""


@dataclass
class Figures:
    setup: str
    runs: int
    delay: float
    exact: int
    cross_talk: int
    events: int
    tokens: int
    seconds: float
    events_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    alone_p50_ms: float
    alone_p99_ms: float
    redis_bytes_per_run: float | None = None

    def table(self) -> str:
        rows = [
            ("setup", self.setup),
            ("concurrent runs (one SSE client each)", f"{self.runs}"),
            ("model pause between frames", f"{self.delay * 1000:.0f} ms"),
            ("answers exact (and tool calls, results, seqs)", f"{self.exact} / {self.runs}"),
            ("events seen by the wrong client (cross-talk)", f"{self.cross_talk}"),
            ("events delivered", f"{self.events}"),
            ("wall time, first POST to last `done`", f"{self.seconds:.2f} s"),
            ("events per second delivered", f"{self.events_per_s:,.0f}"),
            ("added latency per token, p50", f"{self.latency_p50_ms:.2f} ms"),
            ("added latency per token, p99", f"{self.latency_p99_ms:.2f} ms"),
            ("added latency per token, max", f"{self.latency_max_ms:.2f} ms"),
            ("the same for one run alone, p50", f"{self.alone_p50_ms:.2f} ms"),
            ("the same for one run alone, p99", f"{self.alone_p99_ms:.2f} ms"),
        ]
        if self.redis_bytes_per_run is not None:
            rows.append(
                ("Redis memory per finished run", f"{self.redis_bytes_per_run / 1024:,.1f} KiB")
            )
        lines = ["| figure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines)


# -- the server (child process) ------------------------------------------------------------


class StampingRegistry(RunRegistry):
    """A registry that notes when each event of each run entered the run's buffer."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.stamps: dict[str, list[float]] = {}

    def start_events(self, events: AsyncIterable[Event]) -> Run:
        stamps: list[float] = []
        run = super().start_events(_stamped(events, stamps))
        self.stamps[run.id] = stamps
        return run


class StampingRedisRegistry(RedisRunRegistry):
    """The same notes, for runs this process starts on Redis."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.stamps: dict[str, list[float]] = {}

    async def _start(self, events: AsyncIterable[Event]) -> str:
        stamps: list[float] = []
        run_id = await super()._start(_stamped(events, stamps))
        self.stamps[run_id] = stamps
        return run_id


async def _stamped(events: AsyncIterable[Event], stamps: list[float]) -> AsyncIterator[Event]:
    clock = time.monotonic
    async for event in events:
        stamps.append(clock())
        yield event


def _until_stdin_closes(stop: Callable[[], None]) -> None:
    """Call ``stop`` when the parent closes our stdin (or dies)."""
    import threading

    def wait() -> None:
        sys.stdin.read()
        stop()

    threading.Thread(target=wait, daemon=True).start()


def serve_model(delay: float) -> None:
    """Child process: the OpenAI-compatible model server; prints its base URL."""
    import threading

    from eventstream.testing import CAT_SCRIPTS, OpenAIServer

    done = threading.Event()
    _until_stdin_closes(done.set)
    with OpenAIServer(CAT_SCRIPTS, delay=delay) as model:
        print(model.base_url, flush=True)
        done.wait()


def serve(model_url: str, redis_url: str | None, source: RunSource) -> None:
    """Child process: the demo app on one uvicorn worker; prints its port."""
    import socket

    import uvicorn
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    from eventstream._serve import create_app
    from eventstream.testing import build_cat_agent

    def agent() -> Any:
        return build_cat_agent(
            lambda role: ChatOpenAI(
                base_url=model_url,
                api_key=SecretStr("test"),
                model=role,
                streaming=True,
                max_retries=0,
                timeout=300,
            )
        )

    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # on sockets that say they are TCP; with it on, frames stall 20-40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)  # clients may connect before uvicorn accepts
    registry: StampingRegistry | StampingRedisRegistry = (
        StampingRegistry(when_idle="finish")
        if redis_url is None
        else StampingRedisRegistry(redis_url, when_idle="finish")
    )
    app = create_app(agent, registry=registry, source=source, tune_gc=True)  # as serve does

    async def stamps(run_id: str) -> list[float]:
        return registry.stamps[run_id]

    app.add_api_route("/bench/stamps/{run_id}", stamps)
    # uvicorn's default keep-alive of 5 s races with a client reusing the connection of
    # its POST for its GET when the worker is saturated (the connection is reset).
    config = uvicorn.Config(app, log_level="warning", backlog=4096, timeout_keep_alive=60)
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    _until_stdin_closes(stop)
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


# -- the clients (this process) --------------------------------------------------------------


@dataclass
class Client:
    run_id: str
    events: list[dict[str, Any]]
    received: dict[int, float]
    """seq → monotonic time its frame was read, for tokens."""
    owner: str
    """The base URL of the process that ran it (and stamped its events)."""


async def one_client(http: httpx.AsyncClient, starts: str, reads: str) -> Client:
    response = await http.post(f"{starts}/runs", json={"input": CAT_QUESTION})
    response.raise_for_status()
    run_id = response.json()["run_id"]
    events: list[dict[str, Any]] = []
    received: dict[int, float] = {}
    buffer = ""
    clock = time.monotonic
    done = False
    async with http.stream("GET", f"{reads}/runs/{run_id}/events") as stream:
        async for text in stream.aiter_text():
            now = clock()
            buffer += text
            *frames, buffer = buffer.split("\n\n")
            for frame in frames:
                kind = data = ""
                for line in frame.split("\n"):
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
                if not data:
                    continue
                item = json.loads(data)
                if kind in ("done", "error", "gap"):
                    if kind != "done":
                        msg = f"run {run_id}: {item}"
                        raise RuntimeError(msg)
                    done = True
                    continue
                events.append(item)
                if kind == "token":
                    received[item["seq"]] = now
    if not done:
        msg = (
            f"run {run_id} (read from {reads}): the stream ended without a done frame after "
            f"{len(events)} events (HTTP {stream.status_code})"
        )
        raise RuntimeError(msg)
    return Client(run_id, events, received, starts)


def exact(client: Client) -> bool:
    events = client.events
    answer = "".join(e["text"] for e in events if e["type"] == "token" and "agent_llm" in e["tags"])
    outputs = {e["name"]: e["output"] for e in events if e["type"] == "tool_result"}
    seqs = [e["seq"] for e in events]
    return answer == ANSWER_TEXT and outputs == TOOL_OUTPUTS and seqs == list(range(len(seqs)))


def cross_talk(clients: list[Client]) -> int:
    """Events whose LangChain run is not under the client's own root run, or is shared."""
    wrong = 0
    owner: dict[str, str] = {}
    for client in clients:
        root = client.events[0]["run_id"]
        for event in client.events:
            if event["run_id"] != root and event["parent_ids"][:1] != [root]:
                wrong += 1
            if owner.setdefault(event["run_id"], client.run_id) != client.run_id:
                wrong += 1
    return wrong


Load = tuple[list[Client], float, dict[str, list[float]]]


async def drive(urls: list[str], runs: int) -> tuple[Load, Load]:
    """One run alone (the unloaded baseline), then ``runs`` at once.

    With several ``urls``, client ``i`` starts its run on ``urls[i % n]`` and reads it
    from the next one.
    """
    limits = httpx.Limits(max_connections=2 * runs + 10, max_keepalive_connections=2 * runs + 10)
    n = len(urls)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:

        async def load(count: int) -> Load:
            start = time.monotonic()
            clients = await asyncio.gather(
                *(one_client(http, urls[i % n], urls[(i + 1) % n]) for i in range(count))
            )
            seconds = time.monotonic() - start
            stamps = {}
            for client in clients:
                url = f"{client.owner}/bench/stamps/{client.run_id}"
                stamps[client.run_id] = (await http.get(url)).json()
            return list(clients), seconds, stamps

        await load(1)  # warm-up: imports, first connections
        return await load(1), await load(runs)


def _latencies(load: Load) -> list[float]:
    clients, _, stamps = load
    return sorted(
        (at - stamps[client.run_id][seq]) * 1000
        for client in clients
        for seq, at in client.received.items()
    )


def _p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def measure(quick: bool, redis_url: str | None = None, source: RunSource = "v2") -> Figures:
    """Start the servers (two on Redis with ``redis_url``), run the clients, the figures."""
    runs = 50 if quick else 200
    script = os.path.abspath(__file__)
    children: list[subprocess.Popen[str]] = []
    memory_before = _redis_memory(redis_url) if redis_url else 0

    def child(*args: str) -> str:
        process = subprocess.Popen(
            [sys.executable, script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        children.append(process)
        assert process.stdout is not None
        return process.stdout.readline().strip()

    try:
        model_url = child("--model", str(DELAY))
        extra = ("--source", source, *(("--redis-url", redis_url) if redis_url else ()))
        workers = 1 if redis_url is None else 2
        ports = [child("--serve", model_url, *extra) for _ in range(workers)]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        alone, loaded = asyncio.run(drive(urls, runs))
        held = runs + 2  # the loaded runs and the two baseline runs, all finished
        memory = (_redis_memory(redis_url) - memory_before) / held if redis_url else None
    finally:
        for process in reversed(children):
            assert process.stdin is not None
            process.stdin.close()
            process.wait(30)
    clients, seconds, _ = loaded
    latencies = _latencies(loaded)
    baseline = _latencies(alone)
    events = sum(len(client.events) for client in clients)
    setup = (
        "one uvicorn worker, in-process registry"
        if redis_url is None
        else "two uvicorn workers, one Redis; each client reads from the worker that did not "
        "start its run"
    ) + ("; runs on stream modes" if source == "modes" else "; runs on astream_events v2")
    return Figures(
        setup=setup,
        runs=runs,
        delay=DELAY,
        exact=sum(exact(client) for client in clients),
        cross_talk=cross_talk(clients),
        events=events,
        tokens=len(latencies),
        seconds=seconds,
        events_per_s=events / seconds,
        latency_p50_ms=statistics.median(latencies),
        latency_p99_ms=_p99(latencies),
        latency_max_ms=latencies[-1],
        alone_p50_ms=statistics.median(baseline),
        alone_p99_ms=_p99(baseline),
        redis_bytes_per_run=memory,
    )


def _redis_memory(url: str) -> int:
    """Redis's ``used_memory``, in bytes."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """``redis-server`` on a free loopback port in a temporary directory; its URL."""
    import shutil
    import socket
    import tempfile

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
             "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        try:
            for _ in range(500):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.02)
            yield url
        finally:
            process.terminate()
            process.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 runs instead of 200")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also over two workers and one Redis (redis-server must be installed)",
    )
    parser.add_argument(
        "--source",
        choices=RUN_SOURCES,
        default="v2",
        help="how the service streams its runs (default v2: astream_events)",
    )
    parser.add_argument("--model", type=float, metavar="DELAY", help=argparse.SUPPRESS)
    parser.add_argument("--serve", metavar="MODEL_URL", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.model is not None:
        serve_model(args.model)
        return 0
    if args.serve is not None:
        serve(args.serve, args.redis_url, args.source)
        return 0
    results = [measure(args.quick, source=args.source)]
    if args.redis:
        with redis_server() as url:
            results.append(measure(args.quick, url, args.source))
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, loopback\n"
    )
    for figures in results:
        print(figures.table(), end="\n\n")
    if len(results) == 2:
        ratio = results[1].latency_p99_ms / results[0].latency_p99_ms
        print(f"p99 added latency, Redis / in-process: {ratio:.2f}× (goal ≤ 2×)")
    ok = all(f.exact == f.runs and f.cross_talk == 0 for f in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
