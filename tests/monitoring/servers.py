"""Real servers on 127.0.0.1 for the check tests: HTTP(S), bare TLS, DNS.

They run on one background event loop (DNS on its own thread) so each test can drive
the code under test with its own ``asyncio.run``. Every endless behaviour (hang,
trickle, big download) is bounded in time and stops when the client goes away.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

HOST = "127.0.0.1"
BIG_BODY_BYTES = 50 * 1024 * 1024
MAX_ENDLESS_S = 20.0


class LoopThread:
    """An event loop in a daemon thread, for servers the tests talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(_cancel_all(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- HTTP


class HTTPTestServer:
    """Hand-written HTTP/1.1 so tests control every byte: drops, trickles, lies."""

    def __init__(self) -> None:
        self.big_bytes_sent = 0
        self.requests = 0
        self.last_request: dict[str, Any] = {}
        self.routes: dict[str, Callable[..., Awaitable[None]]] = {
            "/ok": self.ok,
            "/json": self.json,
            "/status": self.status,
            "/slow": self.slow,
            "/hang": self.hang,
            "/drop": self.drop,
            "/redirect-loop": self.redirect_loop,
            "/redirect": self.redirect,
            "/big": self.big,
            "/trickle": self.trickle,
            "/auth": self.auth,
            "/echo": self.echo,
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, value in (line.split(":", 1) for line in lines[1:] if ":" in line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.last_request = {
                "method": method,
                "target": target,
                "headers": headers,
                "body": body.decode(),
            }
            path, _, arg = target.partition("?")[0].lstrip("/").partition("/")
            route = self.routes.get("/" + path)
            if route is None:
                await self.send(writer, 404, b"not found")
            else:
                await route(writer, arg, headers, method, body)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def send(
        self,
        writer: asyncio.StreamWriter,
        code: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        extra: dict[str, str] | None = None,
    ) -> None:
        head = [f"HTTP/1.1 {code} X", f"Content-Type: {content_type}"]
        head += [f"Content-Length: {len(body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()

    async def ok(self, writer, *_):
        await self.send(writer, 200, b"Service status: OK\nall systems nominal\n")

    async def json(self, writer, *_):
        document = {
            "status": "ok",
            "version": "2.1",
            "data": {"items": [{"name": "alpha", "count": 3}, {"name": "beta", "count": 7}]},
            "tags": ["primary", "eu"],
            "healthy": True,
        }
        await self.send(writer, 200, json.dumps(document).encode(), "application/json")

    async def status(self, writer, arg, *_):
        await self.send(writer, int(arg), f"status {arg}".encode())

    async def slow(self, writer, arg, *_):
        await asyncio.sleep(int(arg) / 1000)
        await self.send(writer, 200, b"slow but OK")

    async def hang(self, writer, *_):
        await asyncio.sleep(MAX_ENDLESS_S)

    async def drop(self, writer, *_):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()

    async def redirect_loop(self, writer, *_):
        await self.send(writer, 302, b"", extra={"Location": "/redirect-loop"})

    async def redirect(self, writer, arg, *_):
        hops = int(arg)
        if hops == 0:
            await self.send(writer, 200, b"arrived OK")
        else:
            await self.send(writer, 302, b"", extra={"Location": f"/redirect/{hops - 1}"})

    async def big(self, writer, *_):
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {BIG_BODY_BYTES}\r\n\r\n"
        writer.write(head.encode())
        chunk = b"a" * 65536
        self.big_bytes_sent = 0
        loop = asyncio.get_running_loop()
        ends = loop.time() + MAX_ENDLESS_S
        while self.big_bytes_sent < BIG_BODY_BYTES and loop.time() < ends:
            writer.write(chunk)
            await writer.drain()
            self.big_bytes_sent += len(chunk)

    async def trickle(self, writer, *_):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
        loop = asyncio.get_running_loop()
        ends = loop.time() + MAX_ENDLESS_S
        while loop.time() < ends:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.1)

    async def auth(self, writer, _arg, headers, *_):
        expected = "Basic " + base64.b64encode(b"monitor:s3cret").decode()
        if headers.get("authorization") == expected:
            await self.send(writer, 200, b"welcome, monitor")
        else:
            await self.send(writer, 401, b"who are you?", extra={"WWW-Authenticate": "Basic"})

    async def echo(self, writer, _arg, headers, method, body):
        payload = {"method": method, "headers": headers, "body": body.decode()}
        await self.send(writer, 200, json.dumps(payload).encode(), "application/json")


async def start_server(handler, ssl_context: ssl.SSLContext | None = None) -> tuple[Any, int]:
    server = await asyncio.start_server(handler, HOST, 0, ssl=ssl_context)
    return server, server.sockets[0].getsockname()[1]


async def close_after_handshake(_reader, writer: asyncio.StreamWriter) -> None:
    writer.close()


# --------------------------------------------------------------------------- DNS


class DNSTestServer:
    """Authoritative-ish UDP server answering from a dict; unknown names get NXDOMAIN."""

    def __init__(self, records: dict[tuple[str, str], list[str]], answer: bool = True) -> None:
        self.records = records
        self.answer = answer
        self.names = {name for name, _type in records}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.queries += 1
            if not self.answer:
                continue  # a resolver that never replies
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            question = query.question[0]
            name = question.name.to_text().lower()
            rtype = dns.rdatatype.to_text(question.rdtype)
            if name not in self.names:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif (name, rtype) in self.records:
                values = self.records[(name, rtype)]
                response.answer.append(dns.rrset.from_text(name, 300, "IN", rtype, *values))
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()
