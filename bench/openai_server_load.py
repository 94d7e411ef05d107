"""Load: the test kit's OpenAI-compatible server holding 1,000 concurrent streams.

    python bench/openai_server_load.py            # 1,000 concurrent streaming requests
    python bench/openai_server_load.py --quick    # 200

The server (``eventstream.testing.OpenAIServer``, a thread per connection) runs in a
child process; this process opens every connection at once with ``httpx`` (asyncio),
each a streaming chat completion of ``FRAMES`` text frames ``DELAY`` seconds apart, and
checks that every answer arrives whole. Meanwhile it samples the child's
``/proc/<pid>/status`` every 10 ms: its threads (one per open connection, plus two) and
its resident memory. Both ends need descriptors: this process raises its soft
``RLIMIT_NOFILE`` as needed. Nothing is asserted; the table reports this one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import httpx

FRAMES = 20
DELAY = 0.25
"""Seconds between streamed frames: each stream lasts about 5 s, longer than opening all
the connections takes here (about 3 s), so that all are open at once."""


def serve(delay: float) -> None:
    """Child process: the server; prints its base URL, serves until stdin closes."""
    from eventstream.testing import OpenAIServer, Text

    scripts = {"talker": [[Text(f"w{i} ") for i in range(FRAMES)]]}
    with OpenAIServer(scripts, delay=delay) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


def _status(pid: int) -> dict[str, int]:
    """Threads and memory (kB) of a process, from /proc (Linux)."""
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        for line in file:
            name, _, value = line.partition(":")
            if name in ("Threads", "VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


@dataclass
class Figures:
    connections: int
    whole: int
    seconds: float
    threads_peak: int
    rss_idle_mb: float
    rss_peak_mb: float

    def table(self) -> str:
        per = (self.rss_peak_mb - self.rss_idle_mb) * 1024 / self.connections
        rows = [
            ("concurrent streaming connections", f"{self.connections:,}"),
            ("answers whole", f"{self.whole:,} / {self.connections:,}"),
            ("stream length", f"{FRAMES} frames, {DELAY * 1000:.0f} ms apart"),
            ("wall time, all requests sent to all answers read", f"{self.seconds:.2f} s"),
            ("server threads at the peak (one per open connection, + 2)", f"{self.threads_peak:,}"),
            (
                "server memory idle → peak (RSS)",
                f"{self.rss_idle_mb:.0f} → {self.rss_peak_mb:.0f} MB",
            ),
            ("server memory per connection", f"{per:.0f} kB"),
        ]
        lines = ["| figure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines)


async def _clients(url: str, connections: int) -> int:
    expected = "".join(f"w{i} " for i in range(FRAMES))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0)

    async def one(http: httpx.AsyncClient) -> bool:
        body = {"model": "talker", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        text = []
        async with http.stream("POST", "/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line == "data: [DONE]":
                    return "".join(text) == expected
                if line.startswith("data: "):
                    text.append(json.loads(line[6:])["choices"][0]["delta"].get("content") or "")
        return False

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as http:
        results = await asyncio.gather(*(one(http) for _ in range(connections)))
    return sum(results)


def measure(connections: int) -> Figures:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections + 256
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", str(DELAY)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        url = child.stdout.readline().strip()
        idle = _status(child.pid)
        peak = dict(idle)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.01):
                now = _status(child.pid)
                for name, value in now.items():
                    peak[name] = max(peak[name], value)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.monotonic()
        whole = asyncio.run(_clients(url, connections))
        seconds = time.monotonic() - start
        done.set()
        sampler.join()
        peak["VmHWM"] = max(peak["VmHWM"], _status(child.pid)["VmHWM"])
    finally:
        child.stdin.close()
        child.wait(30)
    return Figures(
        connections=connections,
        whole=whole,
        seconds=seconds,
        threads_peak=peak["Threads"],
        rss_idle_mb=idle["VmRSS"] / 1024,
        rss_peak_mb=peak["VmHWM"] / 1024,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 connections instead of 1,000")
    parser.add_argument("--serve", type=float, metavar="DELAY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    figures = measure(200 if args.quick else 1_000)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, loopback\n"
    )
    print(figures.table())
    return 0 if figures.whole == figures.connections else 1


if __name__ == "__main__":
    raise SystemExit(main())
