"""Case intake under load: the real server (gunicorn, several workers) and concurrent
clients posting cases over loopback for a fixed time.

    python bench/cases_intake.py [--seconds 20] [--clients 6] [--workers 2]
                                 [--database-url postgres://...] [--endpoint api|open311]

It makes a scratch database (SQLite in WAL mode under a temporary directory, or the
PostgreSQL database given, which must be empty), migrates it, creates a service and an API
client, starts gunicorn, and runs the clients — processes that time each request
themselves, with a minimal HTTP client of their own (Connection), so that the load costs
the two cores little. Requests still in flight when time is up are finished but not
counted in the rate. Afterwards it checks that every acknowledged case is stored
exactly once, that ticket numbers are unique, that the audit chain verifies, and that the
roll-up and the overdue buckets agree with the cases; it prints cases/s, p50 and p99.
The goal (docs/cases.md): >= 300 cases/s with p99 under 100 ms on 2 cores.

Six clients keep two workers busy; more clients add no throughput, they only queue (with
16, each request waits behind seven others, and p99 is that wait). For a PostgreSQL on the
same machine, its Unix socket (postgres://user@/name?host=/run/postgresql&port=5432) costs
the kernel less than loopback TCP; the figures in docs/cases.md give both.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "bench-cases-key-0123456789abcdef"
OPEN311_KEY = "bench-open311-key-0123456789abcd"

SETUP = f"""
from duban.accounts.models import Department
from duban.accounts.tokens import api_client_create
from duban.cases.services import category_save
dept = Department.objects.create(name="城市管理局", code="chengguan")
category_save(actor=None, code="city", name="城市管理", default_department=dept,
    response_limit=4, response_unit="working_hours", resolution_limit=5,
    resolution_unit="working_days", clock_start="receipt")
api_client_create(name="bench", scope="cases", actor=None, raw_key="{KEY}")
api_client_create(name="bench311", scope="open311", actor=None, raw_key="{OPEN311_KEY}")
"""

CHECK = """
import json, os
from django.db.models import Count
from duban.cases.models import Case, parse_ticket
acked = json.load(open(os.environ["BENCH_ACKED"]))
# Each request carried its own marker in the description: one stored case per marker.
stored = dict(Case.objects.values_list("description", "id"))
dupes = Case.objects.values("description").annotate(n=Count("id")).filter(n__gt=1).count()
missing = 0
for external, ticket in acked:
    parsed = parse_ticket(ticket)
    if parsed is None or stored.get(f"占道经营 {external}") != parsed[1]:
        missing += 1
tickets = [t for _e, t in acked]
# The guarantees beside: the audit chain, the roll-up, the overdue buckets.
from collections import Counter
from duban.audit.services import audit_verify
from duban.cases import rollup
from duban.cases.models import OverdueMonth, bucket_of, overdue_at_of
chain = audit_verify()
cases = list(Case.objects.select_related(None))
buckets = Counter(
    key for key in (bucket_of(overdue_at_of(c), c.department_id, c.street) for c in cases) if key
)
kept = {(b.month, b.department_key, b.street): b.n for b in OverdueMonth.objects.all() if b.n}
print(json.dumps({"stored": Case.objects.count(), "missing": missing, "duplicates": dupes,
                  "tickets_unique": len(tickets) == len(set(tickets)),
                  "audit": chain.ok, "audited": chain.checked,
                  "rollup": not rollup.check(),
                  "overdue": kept == dict(buckets)
                  and all(c.overdue_at == overdue_at_of(c) for c in cases)}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(path: str, content_type: str, body: bytes, headers: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode("latin-1") + body


class Connection:
    """A minimal HTTP/1.1 client for the benchmark's own requests: one socket, kept while
    the server keeps it (gunicorn's sync workers close it after every response). It
    reads the status line, Content-Length and Connection of a response and nothing else:
    http.client parses every header with the e-mail package and cost the clients about
    0.7 ms per request here, CPU the two cores then lacked for the server."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout, self.sock, self.buffer = port, timeout, None, b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def post(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; (status, body). OSError or ValueError when the exchange fails
        or the response is one this client does not read (chunked, or neither a length nor
        the end of the connection to tell where its body ends)."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._read_more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, _, rest_of_line = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(rest_of_line[:3])
        length, close = None, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ValueError("a chunked response: this client reads Content-Length only")
        if length is None:
            if not close:
                raise ValueError("no Content-Length on a connection that stays open")
            self.buffer = rest
            while self._read():  # the body ends with the connection
                pass
            rest = self.buffer
            length = len(rest)
        while len(rest) < length:
            self.buffer = rest
            self._read_more()
            rest = self.buffer
        body, self.buffer = rest[:length], rest[length:]
        if close:
            self.close()
        return status, body

    def _read(self) -> bool:
        """Read what has come; False at the end of the connection."""
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def _read_more(self) -> None:
        if not self._read():
            raise ConnectionResetError("the server closed the connection mid-response")


def client(args) -> tuple[list[tuple[float, float, str, str, int]], float]:
    """One client: post until `deadline` (the request in flight then is finished); returns
    (start, latency, external id, ticket, status) per request and its own CPU seconds."""
    index, port, deadline, endpoint = args
    cpu = time.process_time()
    conn = Connection(port)
    results = []
    n = 0
    while time.time() < deadline:
        n += 1
        external = f"b-{index}-{n}"
        if endpoint == "api":
            body = json.dumps(
                {
                    "service_code": "city",
                    "description": f"占道经营 {external}",
                    "channel": "inspection",
                    "external_id": external,
                    "address": f"金水东路{n}号",
                }
            ).encode()
            request = _request("/api/v1/cases/", "application/json", body, f"X-API-Key: {KEY}\r\n")
        else:
            body = urllib.parse.urlencode(
                {
                    "api_key": OPEN311_KEY,
                    "service_code": "city",
                    "description": f"占道经营 {external}",
                    "address_string": f"金水东路{n}号",
                }
            ).encode()
            request = _request(
                "/open311/v2/requests.json", "application/x-www-form-urlencoded", body
            )
        start = time.time()
        try:
            status, payload = conn.post(request)
        except (OSError, ValueError):
            conn.close()
            results.append((start, time.time() - start, external, "", 0))
            continue
        latency = time.time() - start
        ticket = ""
        if status in (200, 201):
            data = json.loads(payload)
            ticket = (
                data["service_request_id"] if endpoint == "api" else data[0]["service_request_id"]
            )
        results.append((start, latency, external, ticket, status))
    conn.close()
    return results, time.process_time() - cpu


def process_cpu(pids, *, kernel_only: bool = False) -> float:
    """CPU seconds (user + system, or system only) used so far by these processes."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[12]) + (0 if kernel_only else int(fields[11]))) / tick
    return total


def workers_cpu(master: int, *, kernel_only: bool = False) -> float:
    """CPU seconds used so far by the gunicorn workers of `master` (see process_cpu)."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return float("nan")
    return process_cpu(children, kernel_only=kernel_only)


def machine_cpu() -> float:
    """CPU seconds used so far by everything on this machine (all cores, /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))  # not idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


DATABASE_PIDS = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid()")
    print(" ".join(str(pid) for (pid,) in cursor.fetchall()))
"""


def database_cpu(database_url: str, duban: list[str], env: dict) -> dict[str, float]:
    """CPU seconds so far of each PostgreSQL session of the bench's database but the
    asking one (empty for SQLite)."""
    if not database_url:
        return {}
    found = subprocess.run(
        [*duban, "shell", "-c", DATABASE_PIDS], env=env, cwd=ROOT, capture_output=True, text=True
    )
    return {pid: process_cpu([pid]) for pid in found.stdout.split()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/cases_intake.py")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--database-url", default="", help="an empty PostgreSQL database")
    ap.add_argument("--endpoint", choices=("api", "open311"), default="api")
    args = ap.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="duban-bench-"))
    (scratch / "static").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(
        DUBAN_SECRET_KEY="bench-" + "x" * 50,
        DUBAN_VAR_DIR=str(scratch),
        DUBAN_SSL_REDIRECT="0",
        DUBAN_SECURE_COOKIES="0",
        DUBAN_HSTS_SECONDS="0",
        DUBAN_LOG_LEVEL="ERROR",
        DJANGO_SETTINGS_MODULE="duban.settings",
        PYTHONPATH=str(ROOT),
    )
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    duban = [sys.executable, "-m", "duban.cli"]
    run = lambda *a: subprocess.run([*duban, *a], env=env, cwd=ROOT, check=True)  # noqa: E731
    run("migrate", "-v0")
    run("createcachetable", "-v0")
    run("shell", "-c", SETUP)
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(BIN)) or "gunicorn"
    server = subprocess.Popen(
        [
            gunicorn,
            "duban.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-tmp-dir",
            "/dev/shm" if os.path.isdir("/dev/shm") else str(scratch),
            "--log-level",
            "error",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        for _i in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # warm-up: one request per worker so that imports do not count
        warmup, _cpu = client((999, port, time.time() + 1, args.endpoint))
        # The workers' database sessions (PostgreSQL on this machine): their server CPU.
        # Looked up before and after the run: a worker whose session the warm-up did not
        # open yet opens it during the run, and all of its CPU counts.
        backends_before = database_cpu(args.database_url, duban, env)
        cpu_before = workers_cpu(server.pid)
        kernel_before = workers_cpu(server.pid, kernel_only=True)
        machine_before = machine_cpu()
        started = time.time()  # after the lookups, which take seconds
        deadline = started + args.seconds
        with mp.Pool(args.clients) as pool:
            parts = pool.map(
                client, [(i, port, deadline, args.endpoint) for i in range(args.clients)]
            )
        elapsed = time.time() - started
        machine_used = machine_cpu() - machine_before
        cpu_used = workers_cpu(server.pid) - cpu_before
        kernel_used = workers_cpu(server.pid, kernel_only=True) - kernel_before
        backends_after = database_cpu(args.database_url, duban, env)
        backends_used = sum(
            cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items()
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    results = [r for part, _cpu in parts for r in part]
    clients_cpu = sum(cpu for _part, cpu in parts)
    counted = [r for r in results if r[0] < deadline]
    ok = [r for r in counted if r[4] in (200, 201)]
    failed = [r for r in results if r[4] not in (200, 201)]
    acked = [(r[2], r[3]) for r in results + warmup if r[4] in (200, 201)]
    acked_file = scratch / "acked.json"
    acked_file.write_text(json.dumps(acked))
    check = subprocess.run(
        [*duban, "shell", "-c", CHECK],
        env={**env, "BENCH_ACKED": str(acked_file)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    verdict = json.loads(check.stdout.strip().splitlines()[-1])
    latencies = [r[1] * 1000 for r in ok]
    database = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(
        f"{database}, {args.workers} workers, {args.clients} clients, {args.seconds:.0f}s, "
        f"{args.endpoint}: {len(ok) / args.seconds:.0f} cases/s, "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"{len(failed)} failed"
    )
    handled = max(len([r for r in results if r[4] in (200, 201)]), 1)
    per_case = lambda seconds: 1000 * seconds / handled  # noqa: E731
    others = machine_used - cpu_used - clients_cpu - backends_used
    print(
        f"CPU per case: workers {per_case(cpu_used):.2f} ms ({per_case(kernel_used):.2f} in the "
        f"kernel), clients {per_case(clients_cpu):.2f} ms"
        + (f", database server {per_case(backends_used):.2f} ms" if backends_after else "")
        + f"; the machine was {100 * machine_used / elapsed / (os.cpu_count() or 1):.0f}% busy "
        f"({others / elapsed:.2f} cores on other work); "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"acknowledged {len(acked)}, stored {verdict['stored']}, missing {verdict['missing']}, "
        f"duplicates {verdict['duplicates']}, tickets unique: {verdict['tickets_unique']}; "
        f"audit chain verified: {verdict['audit']} ({verdict['audited']} entries), roll-up "
        f"consistent: {verdict['rollup']}, overdue buckets consistent: {verdict['overdue']}"
    )
    shutil.rmtree(scratch, ignore_errors=True)  # the PostgreSQL database is the caller's
    good = verdict["missing"] == 0 and verdict["duplicates"] == 0 and verdict["tickets_unique"]
    good = good and verdict["audit"] and verdict["rollup"] and verdict["overdue"]
    return 0 if good and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
