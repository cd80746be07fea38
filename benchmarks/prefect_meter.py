"""Measuring a Prefect-backed process from outside and inside: CPU seconds of process trees and of the PostgreSQL
backends serving a benchmark, and every Prefect API call a process makes (`ApiCalls`). Used by benchmarks/runner.py;
importable by any benchmark (`from benchmarks.prefect_meter import ApiCalls, Meter, PostgresBackends`)."""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path


def cpu_of_pids(pids) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except FileNotFoundError:
            pass
    return out


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on this machine (other work included: see PostgresBackends for ours alone)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ApiCalls:
    """Every Prefect API call this process makes, counted while installed: HTTP requests by method and route (IDs as
    `{id}`; log posts are `POST /logs/`), events sent on the events websocket by event name, and websocket
    subscriptions opened (the suspension observer's). Wraps httpx's `send` (sync and async clients: the engine's,
    the log worker's) and Prefect 3.8.8's `PrefectEventsClient._emit` / `PrefectEventSubscriber._reconnect`.

        calls = ApiCalls().install()
        ...                                       # work
        snapshot = calls.take()                   # counts since the last take(), then reset
        ApiCalls.per(snapshot, segments)          # the same, per segment
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._undo: list = []

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def install(self) -> "ApiCalls":
        import httpx
        from prefect.events.clients import PrefectEventsClient, PrefectEventSubscriber

        counter = self

        def route(request) -> str:
            path = request.url.path.split("/api", 1)[-1] if "/api" in request.url.path else request.url.path
            return f"{request.method} {UUID_RE.sub('{id}', path)}"

        sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send
        emit, reconnect = PrefectEventsClient._emit, PrefectEventSubscriber._reconnect

        def send(client, request, *a, **kw):
            counter.add(route(request))
            return sync_send(client, request, *a, **kw)

        async def asend(client, request, *a, **kw):
            counter.add(route(request))
            return await async_send(client, request, *a, **kw)

        async def counted_emit(client, event):
            counter.add(f"event {event.event}")
            return await emit(client, event)

        async def counted_reconnect(subscriber):
            counter.add("websocket subscription (events/out)")
            return await reconnect(subscriber)

        httpx.Client.send, httpx.AsyncClient.send = send, asend
        PrefectEventsClient._emit, PrefectEventSubscriber._reconnect = counted_emit, counted_reconnect
        self._undo = [(httpx.Client, "send", sync_send), (httpx.AsyncClient, "send", async_send),
                      (PrefectEventsClient, "_emit", emit), (PrefectEventSubscriber, "_reconnect", reconnect)]
        return self

    def uninstall(self) -> None:
        for owner, name, original in self._undo:
            setattr(owner, name, original)
        self._undo = []

    def take(self) -> dict[str, int]:
        """Counts since the last take (events still queued in the events worker are flushed first)."""
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=30)
        with self._lock:
            out, self._counts = dict(sorted(self._counts.items())), {}
        return out

    @staticmethod
    def per(counts: dict[str, int], segments: int) -> dict:
        http = sum(v for k, v in counts.items() if not k.startswith(("event ", "websocket")))
        events = sum(v for k, v in counts.items() if k.startswith("event "))
        return {"http": round(http / segments, 2), "events": round(events / segments, 2),
                "log_posts": round(counts.get("POST /logs/", 0) / segments, 2),
                "total": round(sum(counts.values()) / segments, 2),
                "by_route": {k: round(v / segments, 2) for k, v in counts.items()}}


STORE_APP = "lostcontact_bench_runner"  # the application_name of the benchmark store's connections


class PostgresBackends:
    """CPU of the PostgreSQL backends serving this benchmark (the store's connections, by application_name, and the
    Prefect server's, by database), not of the whole server: other work on this shared machine uses the same
    PostgreSQL. Sampled every half second while measuring, so a backend that ends within a phase (a pool's overflow
    connection) counts up to its last sample. Shared background processes (WAL writer, checkpointer, autovacuum) are
    not counted. The sampling costs this process about 2 ms of CPU a second."""

    def __init__(self, pg_url: str, prefect_db: str | None):
        self.pg_url, self.prefect_db = pg_url, prefect_db

    def __enter__(self):
        import psycopg

        self.conn = psycopg.connect(self.pg_url, autocommit=True)
        self.first = self._sample()
        self.last = dict(self.first)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> dict[int, float]:
        pids = [r[0] for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR application_name = %s",
            (self.prefect_db, STORE_APP)).fetchall()]
        return {pid: cpu_of_pids([pid]) for pid in pids}

    def _loop(self) -> None:
        while not self.stop.wait(0.5):
            self.last.update(self._sample())

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.last.update(self._sample())
        self.conn.close()
        self.cpu = sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


class Meter:
    """CPU seconds of this process, the Prefect server's process tree and our PostgreSQL backends over a phase."""

    def __init__(self, server_pid: int, backends: PostgresBackends):
        self.server_pid, self.backends = server_pid, backends

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.backends.__enter__()
        self.c0 = (time.process_time(), cpu_of_pids(tree(self.server_pid)))
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        c1 = (time.process_time(), cpu_of_pids(tree(self.server_pid)))
        self.backends.__exit__(*exc)
        self.cpu = [round(b - a, 2) for a, b in zip(self.c0, c1)] + [round(self.backends.cpu, 2)]
