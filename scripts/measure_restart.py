"""What clients see while SecondLayer restarts: tool calls sent without pause by a few clients through the proxy
while a restart command runs, counted by outcome.

    .venv/bin/python scripts/measure_restart.py --url https://127.0.0.1:8443 --key sl_... [--insecure] \
        [--clients 4] [--require-zero] -- supervisorctl restart secondlayer

A call fails when the connection breaks or the answer is not 200 (nginx answers 502 when no server takes the
connection). The calls go on for a second after the command ends; every loop is bounded by --max-seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def _connection(url: str, insecure: bool) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if insecure:  # the test's self-signed certificate
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(host, port, timeout=30, context=context)
    return http.client.HTTPConnection(host, port, timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the proxy's base URL")
    parser.add_argument("--key", required=True, help="an API key (sl_...)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--require-zero", action="store_true", help="exit 1 when any call failed")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the restart command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    body = json.dumps({"query": "позов", "limit": 3}).encode()
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"}
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    failed_at: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + args.max_seconds

    def client() -> None:
        conn = _connection(args.url, args.insecure)
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                conn.request("POST", "/api/tools/search_court_cases", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                outcome = "ok" if response.status == 200 else f"http {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                outcome = f"error {type(exc).__name__}"
                conn.close()
                conn = _connection(args.url, args.insecure)
            with lock:
                outcomes[outcome] += 1
                latencies.append(time.monotonic() - started)
                if outcome != "ok":
                    failed_at.append(started)
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.max_seconds, check=False)
    took = time.monotonic() - started
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join(60)
    failed = sum(n for outcome, n in outcomes.items() if outcome != "ok")
    window = f" over {max(failed_at) - min(failed_at):.1f} s" if failed_at else ""
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
    print(f"restart: {' '.join(command)} (exit {result.returncode}, {took:.1f} s)")
    print(
        f"calls: {sum(outcomes.values())}, failed: {failed}{window} "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(outcomes.items()))}); latency median "
        f"{statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
        return 1
    return 1 if args.require_zero and failed else 0


if __name__ == "__main__":
    sys.exit(main())
