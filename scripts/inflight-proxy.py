#!/usr/bin/env python3
"""Counting proxy for scripts/endpoint-check: forwards HTTP/1.1 requests to an upstream server one connection per
request and records how many requests are in flight (received, not yet answered) once a second.

usage: inflight-proxy.py UPSTREAM_HOST:PORT LISTEN_PORT LOGFILE
LOGFILE gets lines "seconds in_flight max_in_flight answered_200 answered_other". Optional tooling only (asyncio,
standard library); the product and its tests never need it."""
import asyncio, sys, time

upstream_host, upstream_port = sys.argv[1].rsplit(":", 1)
listen_port, logfile = int(sys.argv[2]), sys.argv[3]
state = {"in_flight": 0, "max": 0, "ok": 0, "other": 0}
start = time.monotonic()


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    lines = head.split(b"\r\n")
    kept = [lines[0]]
    for line in lines[1:]:
        if not line:
            continue
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"content-length":
            length = int(line.split(b":", 1)[1])
        if name in (b"connection", b"keep-alive"):
            continue
        kept.append(line)
    kept.append(b"Connection: close")
    body = await reader.readexactly(length) if length else b""
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


async def handle(reader, writer):
    try:
        while True:
            try:
                request = await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            state["in_flight"] += 1
            state["max"] = max(state["max"], state["in_flight"])
            try:
                ur, uw = await asyncio.open_connection(upstream_host, int(upstream_port))
                uw.write(request)
                await uw.drain()
                response = await ur.read()  # upstream closes after one reply (Connection: close)
                uw.close()
            finally:
                state["in_flight"] -= 1
            if response.startswith(b"HTTP/1.1 200") or response.startswith(b"HTTP/1.0 200"):
                state["ok"] += 1
            else:
                state["other"] += 1
            writer.write(response)
            await writer.drain()
            return  # one request per client connection (the reply carries the upstream's Connection: close)
    finally:
        writer.close()


async def report():
    with open(logfile, "a", buffering=1) as f:
        while True:
            f.write("%.0f %d %d %d %d\n" % (time.monotonic() - start, state["in_flight"], state["max"], state["ok"], state["other"]))
            await asyncio.sleep(1)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=256)
    asyncio.get_running_loop().create_task(report())
    async with server:
        await server.serve_forever()

asyncio.run(main())
