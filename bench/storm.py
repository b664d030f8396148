#!/usr/bin/env python3
"""Booking storm client: one booking attempt per resident token, all fired at once.

Usage: storm.py HOST PORT PATH TOKENS_FILE BODY_FILE GO_FILE OUT_JSON READY_FILE

Opens one keep-alive connection per token first (so the storm measures the service, not TCP
set-up against a listen backlog), creates READY_FILE and waits until GO_FILE exists (so two of
these processes, one per instance, fire together), then writes every request at once and times
each from its write to the end of its answer. Each connection carries one request and closes
(`Connection: close`): the service serves at most CANYU_MAX_CONNECTIONS at once and accepts the
rest from its listen backlog as places free up, so a connection past the cap is answered late,
not refused. Writes {"statuses": {code: n}, "latencies_ms": [...]}.
Standard library only: asyncio streams and a minimal HTTP/1.1 reader.
"""
import asyncio
import json
import os
import sys
import time


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def main():
    host, port, path, tokens_file, body_file, go_file, out, ready_file = sys.argv[1:9]
    port = int(port)
    tokens = [t for t in open(tokens_file).read().split() if t]
    body = open(body_file, "rb").read()

    connect_gate = asyncio.Semaphore(200)

    async def connect():
        async with connect_gate:
            for attempt in range(5):
                try:
                    return await asyncio.open_connection(host, port)
                except OSError:
                    await asyncio.sleep(0.05 * (attempt + 1))
            return await asyncio.open_connection(host, port)

    conns = await asyncio.gather(*(connect() for _ in tokens))
    go = asyncio.Event()

    async def attempt(i, token, conn):
        reader, writer = conn
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: storm-{i}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        await go.wait()
        t0 = time.perf_counter()
        try:
            writer.write(request)
            status = await asyncio.wait_for(read_response(reader), timeout=30)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
            status = 0  # no answer at all: counted apart from 5xx, and fails the run too
        elapsed = (time.perf_counter() - t0) * 1000
        writer.close()
        return status, elapsed

    tasks = [asyncio.create_task(attempt(i, t, c)) for i, (t, c) in enumerate(zip(tokens, conns))]
    await asyncio.sleep(0)  # every task is parked on the gate before it opens
    open(ready_file, "w").close()
    while not os.path.exists(go_file):
        await asyncio.sleep(0.001)
    go.set()
    results = await asyncio.gather(*tasks)
    statuses = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    json.dump({"statuses": statuses, "latencies_ms": [ms for _, ms in results]}, open(out, "w"))


if __name__ == "__main__":
    asyncio.run(main())
