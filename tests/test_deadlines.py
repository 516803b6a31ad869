"""app/handlers/deadlines.py: many requests' deadlines under one timer (bodies due in full, keepalives of long
calls), on a real event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.handlers.deadlines import Deadlines

T = TypeVar("T")


def _run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await scenario()

    return asyncio.run(main())


def test_a_deadline_runs_after_its_time_within_its_slack_and_once() -> None:
    async def scenario() -> list[float]:
        deadlines = Deadlines.named("test")
        loop = asyncio.get_running_loop()
        started = loop.time()
        ran: list[float] = []
        deadlines.add("a", 0.2, lambda: ran.append(loop.time() - started), slack=0.05)
        await asyncio.sleep(0.5)
        assert len(deadlines) == 0
        return ran

    ran = _run(scenario)
    assert len(ran) == 1
    assert 0.2 <= ran[0] < 0.4


def _appender(into: list[str], value: str) -> Callable[[], None]:
    return lambda: into.append(value)


def test_a_discarded_deadline_never_runs_and_others_still_do() -> None:
    async def scenario() -> list[str]:
        deadlines = Deadlines.named("test")
        ran: list[str] = []
        for key in ("kept", "dropped", "late"):
            deadlines.add(key, 0.1 if key != "late" else 0.3, _appender(ran, key), slack=0.02)
        deadlines.discard("dropped")
        await asyncio.sleep(0.5)
        return ran

    assert _run(scenario) == ["kept", "late"]


def test_adding_a_key_again_replaces_its_deadline() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        deadlines = Deadlines.named("test")
        ran: list[str] = []
        deadlines.add("k", 0.1, lambda: ran.append("first"), slack=0.02)
        deadlines.add("k", 0.4, lambda: ran.append("second"), slack=0.02)
        await asyncio.sleep(0.25)
        early = list(ran)
        await asyncio.sleep(0.4)
        return early, ran

    early, ran = _run(scenario)
    assert early == [] and ran == ["second"]


def test_a_callback_that_adds_itself_again_repeats_until_discarded() -> None:
    async def scenario() -> int:
        deadlines = Deadlines.named("test")
        ticks: list[int] = []

        def tick() -> None:
            ticks.append(1)
            deadlines.add("keepalive", 0.05, tick, slack=0.01)

        deadlines.add("keepalive", 0.05, tick, slack=0.01)
        await asyncio.sleep(0.33)
        deadlines.discard("keepalive")
        count = len(ticks)
        await asyncio.sleep(0.2)
        assert len(ticks) == count  # nothing after the discard
        return count

    assert 3 <= _run(scenario) <= 7


def test_an_earlier_deadline_added_later_is_not_held_up_by_a_later_timer() -> None:
    async def scenario() -> list[str]:
        deadlines = Deadlines.named("test")
        ran: list[str] = []
        deadlines.add("slow", 10.0, lambda: ran.append("slow"), slack=2.0)
        deadlines.add("quick", 0.1, lambda: ran.append("quick"), slack=0.02)
        await asyncio.sleep(0.3)
        assert len(deadlines) == 1  # the slow one still waits
        deadlines.discard("slow")
        return ran

    assert _run(scenario) == ["quick"]


def test_each_loop_and_each_kind_has_its_own_deadlines() -> None:
    async def kinds() -> tuple[Deadlines, Deadlines, Deadlines]:
        return Deadlines.named("a"), Deadlines.named("b"), Deadlines.named("a")

    first_a, b, again_a = _run(kinds)
    other_a, _, _ = _run(kinds)
    assert first_a is again_a and first_a is not b and other_a is not first_a
    # Two loops alive at once, asked in turn (the lookup remembers the last loop): each still gets its own.
    one, two = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        asked = [loop.run_until_complete(kinds())[0] for loop in (one, two, one, two)]
    finally:
        one.close()
        two.close()
    assert asked[0] is asked[2] and asked[1] is asked[3] and asked[0] is not asked[1]
    assert asked[0]._loop is one and asked[1]._loop is two


def test_an_idle_connection_is_closed_after_the_idle_timeout_and_a_busy_one_is_not() -> None:
    """ProxyAwareHTTPServer's idle_connection_timeout, kept in Deadlines: a kept-alive connection left idle and
    one trickling its headers are closed once it passes; one that keeps sending requests stays open; a closed
    connection leaves nothing behind."""
    import socket

    import tornado.web

    from app.forwarded import ProxyAwareHTTPServer

    idle = 0.5

    class Hello(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write("hello")

    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    async def scenario() -> dict[str, float | None]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        server = ProxyAwareHTTPServer(tornado.web.Application([("/", Hello)]), idle_connection_timeout=idle)
        server.add_sockets([listener])
        loop = asyncio.get_running_loop()

        async def closed_after(reader: asyncio.StreamReader, trickle: asyncio.StreamWriter | None) -> float | None:
            """Seconds until the server closes the connection (None: still open after 3 idle periods)."""
            started = loop.time()
            while loop.time() - started < 3 * idle:
                if trickle is not None:
                    trickle.write(b"X")  # a header line that never ends
                try:
                    data = await asyncio.wait_for(reader.read(1024), 0.1)
                except TimeoutError:
                    continue
                if not data:
                    return loop.time() - started
            return None

        out: dict[str, float | None] = {}
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        assert b"hello" in await reader.readuntil(b"hello")
        out["idle"] = await closed_after(reader, None)
        writer.close()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        out["trickle"] = await closed_after(reader, writer)
        writer.close()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = loop.time()
        while loop.time() - started < 3 * idle:
            writer.write(request)
            assert b"hello" in await reader.readuntil(b"hello")
            await asyncio.sleep(idle / 2)
        out["busy"] = None if not reader.at_eof() else loop.time() - started
        writer.close()
        await asyncio.sleep(0.2)
        out["left"] = float(len(Deadlines.named("idle connections")))
        server.stop()
        await server.close_all_connections()
        return out

    out = _run(scenario)
    # The idle period starts when the server is ready for the next request, a moment before the client has read
    # the answer; it ends within its slack (a tenth), plus the client's polling and a loaded machine's delays.
    assert out["idle"] is not None and idle * 0.9 <= out["idle"] < idle * 1.1 + 0.5, out
    assert out["trickle"] is not None and idle * 0.8 <= out["trickle"] < idle * 1.1 + 0.5, out
    assert out["busy"] is None, out
    assert out["left"] == 0, out
