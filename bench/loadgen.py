"""A small closed-loop HTTP/1.1 load generator (keep-alive, N concurrent clients).

Written on raw asyncio streams so that the client costs little CPU next to the server it
measures on the same two cores.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))
        return ordered[index]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    host: str,
    port: int,
    paths: Callable[[], str],
    headers: str,
    deadline: float,
    result: LoadResult,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = (
                f"GET {paths()} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: keep-alive\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            if status != 200:
                result.errors += 1
    finally:
        writer.close()


def run_load(
    host: str,
    ports: list[int],
    paths: Callable[[], str],
    *,
    clients: int = 8,
    seconds: float = 10.0,
    warmup: float = 2.0,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Closed-loop load from ``clients`` connections, dealt round-robin over ``ports`` (one
    server process each: a balancer in front of them would deal requests the same way)."""
    header_text = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    targets = [ports[n % len(ports)] for n in range(clients)]

    async def main() -> LoadResult:
        warm = LoadResult(0, 0, 0.0, [])
        end = time.perf_counter() + warmup
        await asyncio.gather(
            *(_client(host, port, paths, header_text, end, warm) for port in targets)
        )
        result = LoadResult(0, 0, 0.0, [])
        started = time.perf_counter()
        end = started + seconds
        await asyncio.gather(
            *(_client(host, port, paths, header_text, end, result) for port in targets)
        )
        result.seconds = time.perf_counter() - started
        return result

    return asyncio.run(main())


def random_offsets(base: str, total: int, limit: int = 20, seed: int = 7) -> Callable[[], str]:
    rng = random.Random(seed)
    pages = max(1, total // limit)

    def next_path() -> str:
        # Most people look at the first pages; some jump deep into the list.
        page = rng.randrange(10) if rng.random() < 0.8 else rng.randrange(pages)
        return f"{base}?limit={limit}&offset={page * limit}"

    return next_path
