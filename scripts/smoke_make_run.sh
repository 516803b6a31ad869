#!/usr/bin/env bash
# `make run` from a fresh clone (no .venv, no var/), as a new user would type it: wait until the server is
# ready, check the first-run output and a real request, then stop it with SIGTERM and check it stopped cleanly.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/sl-smoke-XXXXXX)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$src" "$work/clone"
cd "$work/clone"
test ! -e .venv && test ! -e var
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
unset DATABASE_URL
setsid make run PORT="$port" > "$work/run.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; then ready=yes; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "smoke: make run did not become ready"; tail -50 "$work/run.log"; exit 1
fi
grep -q "created operator admin@example.com with password" "$work/run.log" || { echo "smoke: no operator password printed"; exit 1; }
curl -fsS "http://127.0.0.1:$port/healthz" | grep -q '"ok"'
# PORT without PUBLIC_URL: the server advertises the port it listens on.
curl -fsS "http://127.0.0.1:$port/.well-known/oauth-authorization-server" | grep -q "\"issuer\": \"http://127.0.0.1:$port\"" \
  || { echo "smoke: the issuer is not http://127.0.0.1:$port"; exit 1; }
curl -fsS -H 'Accept: text/html' "http://127.0.0.1:$port/" | grep -q SecondLayer
if [ -x .venv/bin/secondlayer ] && .venv/bin/secondlayer --help | grep -q create-api-key; then
  key=$(.venv/bin/secondlayer create-api-key --user admin@example.com --name smoke --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  code=$(curl -s -o "$work/tool.json" -w '%{http_code}' -X POST "http://127.0.0.1:$port/api/tools/server_info" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{}')
  [ "$code" = 200 ] || { echo "smoke: server_info answered $code"; cat "$work/tool.json"; exit 1; }
  # The demo corpus was loaded: a new user's first search finds something.
  curl -fsS -X POST "http://127.0.0.1:$port/api/tools/search_court_cases" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d '{"query": "позов"}' > "$work/search.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; assert r, "no results"; print("smoke: search_court_cases found", len(r))' "$work/search.json"
fi
kill -TERM -- "-$pid"
wait "$pid" || true
for _ in $(seq 1 50); do
  pgrep -f "$work/clone/var/postgres" > /dev/null || break
  sleep 0.2
done
if pgrep -f "$work/clone/var/postgres" > /dev/null; then echo "smoke: embedded PostgreSQL still running"; exit 1; fi
grep -q '"msg": "stopped"' "$work/run.log" || { echo "smoke: no clean shutdown in the log"; tail -20 "$work/run.log"; exit 1; }
echo "smoke: make run from a fresh clone served on port $port and stopped cleanly"
