"""Several ``eventstream serve --redis`` processes on one Redis act as one service.

Real processes: ``redis-server`` on a free loopback port, two ``eventstream serve``
processes (A and B) on their own ports, each running the cat agent on ``ChatOpenAI``
against one OpenAI-compatible server started here (so this test sees a model request
closed by a cancel on any process), and httpx clients. A run is ``POST``ed on one process
and read on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from eventstream.testing import CAT_SCRIPTS, OpenAIServer
from tests.redis_server import RedisServer, free_port
from tests.test_serve import Frame, check_cat_run, events, read_sse, start

EVENTSTREAM = str(Path(sys.executable).with_name("eventstream"))
"""The console script, as installed beside this Python."""

# `eventstream serve` as the command line runs it, its agent's models on MODEL_URL.
SERVE = """
import argparse, os, sys
from eventstream._serve import add_arguments, main
from eventstream.testing import build_cat_agent
parser = argparse.ArgumentParser(prog="eventstream serve")
add_arguments(parser)

def agent():
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr
    url = os.environ["MODEL_URL"]
    return build_cat_agent(lambda role: ChatOpenAI(
        base_url=url, api_key=SecretStr("t"), model=role, streaming=True, max_retries=0))

sys.exit(main(parser.parse_args(sys.argv[1:]), agent))
"""


@dataclass
class Process:
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    """The process's stderr."""

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)


def serve(redis_url: str, model_url: str, *extra: str) -> Process:
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--redis", redis_url, "--port", str(port),
         "--log-level", "warning", *extra],
        env={**os.environ, "MODEL_URL": model_url},
        stderr=log,
    )  # fmt: skip
    return Process(f"http://127.0.0.1:{port}", process, log)


async def up(process: Process) -> None:
    async with process.client() as client:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/")).status_code == 200:
                    return
            assert process.process.poll() is None, process.stderr()
            await asyncio.sleep(0.05)
    msg = f"{process.url} did not come up"
    raise AssertionError(msg)


def stop(process: Process) -> None:
    if process.process.poll() is None:
        process.process.send_signal(signal.SIGINT)
        try:
            process.process.wait(30)
        except subprocess.TimeoutExpired:
            process.process.kill()
            process.process.wait(10)
    process.log.close()


@dataclass
class Service:
    a: Process
    b: Process
    model: OpenAIServer
    redis: RedisServer


@pytest.fixture
def model() -> Iterator[OpenAIServer]:
    with OpenAIServer(CAT_SCRIPTS, delay=0.03) as server:
        yield server


@contextlib.asynccontextmanager
async def service(redis: RedisServer, model: OpenAIServer, *extra: str) -> AsyncIterator[Service]:
    a = serve(redis.url, model.base_url, *extra)
    b = serve(redis.url, model.base_url, *extra)
    try:
        await asyncio.gather(up(a), up(b))
        yield Service(a, b, model, redis)
    finally:
        stop(a)
        stop(b)


def same(frames: list[Frame]) -> list[tuple[str, str, str]]:
    """What a client sees of each frame: its id, its event name, its data."""
    return [(f.id, f.event, json.dumps(f.data, sort_keys=True)) for f in frames]


async def test_a_run_posted_on_a_reads_the_same_on_b_and_resumes_there(
    redis_server: RedisServer, model: OpenAIServer
) -> None:
    async with service(redis_server, model) as s, s.a.client() as a, s.b.client() as b:
        run_id = await start(a)
        on_a, on_b = await asyncio.gather(
            read_sse(a, f"/runs/{run_id}/events"), read_sse(b, f"/runs/{run_id}/events")
        )
        # Resume on B mid-run after reading on A: no duplicate, no gap.
        second = await start(b)
        path = f"/runs/{second}/events"
        before = await read_sse(a, path, until=lambda f: f.data.get("seq") == 30)
        after = await read_sse(b, path, headers={"Last-Event-ID": before[-1].id})
        info = (await b.get(f"/runs/{second}")).json()
    check_cat_run(events(on_a))
    assert same(on_a) == same(on_b)  # seq, type, run: identical from every process
    assert on_b[-1].event == "done"
    assert after[0].data["seq"] == 31
    check_cat_run(events(before) + events(after))
    assert info["status"] == "completed"
    assert model.disconnects == 0


async def test_twenty_concurrent_runs_started_on_both_and_read_on_the_other(
    redis_server: RedisServer, model: OpenAIServer
) -> None:
    async with service(redis_server, model) as s, s.a.client() as a, s.b.client() as b:

        async def one(starts: httpx.AsyncClient, reads: httpx.AsyncClient) -> list[Frame]:
            run_id = await start(starts)
            frames = await read_sse(reads, f"/runs/{run_id}/events")
            assert all(f.data.get("run_id", "") != run_id for f in frames)
            return frames

        runs = await asyncio.gather(*(one(a, b) if i % 2 else one(b, a) for i in range(20)))
    roots = set()
    for frames in runs:
        items = events(frames)
        check_cat_run(items)  # every answer exact
        assert frames[-1].event == "done"
        root = items[0]["run_id"]
        roots.add(root)
        # No cross-talk: every event belongs to this run's own LangChain tree.
        assert all(e["run_id"] == root or e["parent_ids"][:1] == [root] for e in items)
    assert len(roots) == 20


async def test_kill_9_of_the_owner_gives_b_an_error_after_an_intact_prefix(
    redis_server: RedisServer,
) -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.05) as slow:
        async with service(redis_server, slow) as s, s.a.client() as a, s.b.client() as b:
            run_id = await start(a)
            frames: list[Frame] = []
            killed: list[float] = []

            def kill_at_20(frame: Frame) -> bool:
                if frame.data.get("seq") == 20 and not killed:
                    s.a.process.kill()  # SIGKILL: no cleanup, no last write
                    killed.append(time.monotonic())
                return False

            frames = await asyncio.wait_for(
                read_sse(b, f"/runs/{run_id}/events", until=kill_at_20), 60
            )
            took = time.monotonic() - killed[0]
            info = (await b.get(f"/runs/{run_id}")).json()
    print(f"kill -9 of the owner → error frame on B: {took:.2f} s")
    assert took < 15, f"the error frame came {took:.1f} s after the kill"
    assert frames[-1].event == "error"
    assert frames[-1].data == {
        "type": "error",
        "message": "the run failed: the server running it stopped responding",
        "reason": "failed",
    }
    seqs = [e["seq"] for e in events(frames)]
    assert seqs == list(range(len(seqs))) and len(seqs) > 20  # intact, no duplicate
    assert info["status"] == "failed"


async def test_delete_on_b_cancels_a_run_owned_by_a_and_its_model_request(
    redis_server: RedisServer, model: OpenAIServer
) -> None:
    async with service(redis_server, model) as s, s.a.client() as a, s.b.client() as b:
        run_id = await start(a)
        reading = asyncio.ensure_future(read_sse(a, f"/runs/{run_id}/events"))
        await asyncio.sleep(0.5)  # a model request is open
        response = await b.delete(f"/runs/{run_id}")
        assert response.status_code == 200
        assert response.json() == {"run_id": run_id, "cancelled": True}
        frames = await asyncio.wait_for(reading, 30)
        assert await asyncio.to_thread(model.wait_for_disconnect, 10)
        info = (await b.get(f"/runs/{run_id}")).json()
        again = await b.delete(f"/runs/{run_id}")
        missing = await b.delete("/runs/nope")
    assert frames[-1].event == "error"
    assert frames[-1].data["reason"] == "cancelled"
    assert info["status"] == "cancelled"
    assert again.json() == {"run_id": run_id, "cancelled": False}
    assert missing.status_code == 404


async def test_the_last_reader_leaving_b_cancels_the_run_on_a(
    redis_server: RedisServer, model: OpenAIServer
) -> None:
    async with (
        service(redis_server, model, "--idle-grace", "0.5") as s,
        s.a.client() as a,
        s.b.client() as b,
    ):
        run_id = await start(a)
        first = await read_sse(b, f"/runs/{run_id}/events", until=lambda f: f.event == "token")
        # A's idle grace passes with nobody reading anywhere: A cancels.
        assert await asyncio.to_thread(model.wait_for_disconnect, 20)
        for _ in range(200):
            info = (await b.get(f"/runs/{run_id}")).json()
            if info["status"] != "running":
                break
            await asyncio.sleep(0.05)
    assert first[-1].event == "token"
    assert info["status"] == "cancelled"


def test_serve_with_redis_unreachable_exits_with_an_error_naming_the_url() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = subprocess.run(
        [EVENTSTREAM, "serve", "--redis", url, "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"cannot reach Redis at {url}" in done.stderr
    assert "Traceback" not in done.stderr
