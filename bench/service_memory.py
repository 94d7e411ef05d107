"""The service under a flood: 10,000 ``POST /runs`` against ``eventstream serve`` with its
default limits, and what it holds in memory.

    python bench/service_memory.py                # 10,000 POSTs, 64 at a time
    python bench/service_memory.py --posts 2000   # fewer

``eventstream serve`` runs as a child process (the cat agent against its own local model
server, the default 50 ms between frames); nobody reads the runs, so each runs to its end
and is then held for late readers (``--max-finished``, ``--ttl``). The clients post as
fast as the server answers, 64 at a time. Reported: how many were accepted (``201``) and
refused (``429`` with ``Retry-After``: ``--max-runs`` were running), the server's resident
memory (``VmRSS``) before, at its peak (``VmHWM``) and once the accepted runs have
finished, and the runs held then. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EVENTSTREAM = str(Path(sys.executable).with_name("eventstream"))


def memory(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def flood(url: str, posts: int, concurrency: int) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(posts):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                try:
                    response = await client.post("/runs", json={"input": "Where is the cat?"})
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [EVENTSTREAM, "serve", "--port", str(port), "--log-level", "warning"],
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/", timeout=5).status_code == 200:
                    break
            time.sleep(0.05)
        before, _ = memory(server.pid)
        start = time.monotonic()
        statuses = asyncio.run(flood(url, args.posts, args.concurrency))
        seconds = time.monotonic() - start
        during, _ = memory(server.pid)
        # Let the accepted runs finish (the demo's cat run takes about 6 s).
        time.sleep(30)
        after, peak = memory(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; eventstream serve with its default limits\n"
    )
    rows = [
        ("POST /runs sent", f"{args.posts:,} ({args.concurrency} at a time, {seconds:.1f} s)"),
        ("accepted (201)", f"{statuses[201]:,}"),
        ("refused: too many running (429)", f"{statuses[429]:,}"),
        ("other answers / errors", f"{sum(v for k, v in statuses.items() if k not in (201, 429))}"),
        ("server memory before", f"{before:.0f} MB"),
        ("server memory when the last POST was answered", f"{during:.0f} MB"),
        ("server memory at its peak (VmHWM)", f"{peak:.0f} MB"),
        ("server memory 30 s later (runs finished, held for the TTL)", f"{after:.0f} MB"),
    ]
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
