#!/usr/bin/env bash
# The wheel as an operator installs it: build it from a fresh clone, install it (not editable) into a fresh venv,
# delete the clone, and from another directory migrate an empty embedded database, bootstrap, serve on a free
# loopback port until /readyz answers 200, call a tool, then stop the server with SIGTERM and check it stopped.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
work="$(mktemp -d /tmp/sl-wheel-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  # A failure may leave the embedded PostgreSQL running: fast shutdown of the postmaster by the pid it recorded.
  local postmaster
  postmaster=$(head -1 "$work/data/postgres/postmaster.pid" 2>/dev/null || true)
  if [ -n "$postmaster" ] && kill -INT "$postmaster" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$postmaster" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "smoke_wheel: $*" >&2; exit 1; }

git clone --quiet "$src" "$work/clone"
"$python" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/python" -m pip install --quiet --upgrade pip
"$bin/pip" wheel --quiet --no-deps -w "$work/dist" "$work/clone"
wheel=$(ls "$work"/dist/secondlayer-*.whl)
"$bin/python" - "$wheel" <<'EOF' || fail "the wheel lacks files the installed server needs"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = ["app/migrations/env.py", "app/migrations/script.py.mako", "app/templates/error.html", "app/locale/uk_UA.csv"]
missing = [n for n in needed if n not in names]
missing += [] if any(n.startswith("app/migrations/versions/0") for n in names) else ["app/migrations/versions/*"]
missing += [] if any(n.startswith("app/demo/") for n in names) else ["app/demo/*"]
sys.exit(f"missing: {', '.join(missing)}" if missing else 0)
EOF
"$bin/pip" install --quiet "$wheel"
rm -rf "$work/clone"  # from here on nothing can come from a source tree

cd "$work"
"$bin/python" -c 'import app, sys; sys.exit(None if "/site-packages/app/" in app.__file__ else app.__file__)' \
  || fail "app is not imported from the installed wheel"
unset DATABASE_URL
export SECONDLAYER_DATA_DIR="$work/data"
"$bin/secondlayer" migrate > "$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; fail "migrate failed"; }
grep -q "schema upgraded from empty to" "$work/migrate.log" || { cat "$work/migrate.log"; fail "migrate did not upgrade"; }
"$bin/secondlayer" bootstrap > "$work/bootstrap.log" 2>&1 || { cat "$work/bootstrap.log"; fail "bootstrap failed"; }
key=$("$bin/secondlayer" create-api-key --user admin@example.com --name smoke --json \
  | "$bin/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')

port=$("$bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/secondlayer" serve --host 127.0.0.1 --port "$port" > "$work/serve.log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; then ready=yes; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
[ -n "$ready" ] || { tail -50 "$work/serve.log"; fail "the installed server did not become ready"; }
curl -fsS -H 'Accept: text/html' "http://127.0.0.1:$port/" | grep -q SecondLayer || fail "no home page"
curl -fsS -X POST "http://127.0.0.1:$port/api/tools/search_court_cases" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"query": "позов"}' > "$work/search.json" || fail "the tool call failed"
"$bin/python" -c 'import json, sys; assert json.load(open(sys.argv[1]))["results"]' "$work/search.json" \
  || fail "the demo corpus is not searchable"

kill -TERM "$pid"
if wait "$pid"; then status=0; else status=$?; fi
pid=""
[ "$status" = 0 ] || { tail -20 "$work/serve.log"; fail "serve exited with status $status after SIGTERM"; }
grep -q '"msg": "stopped"' "$work/serve.log" || { tail -20 "$work/serve.log"; fail "no clean shutdown in the log"; }
for _ in $(seq 1 50); do
  pgrep -f "$work/data/postgres" > /dev/null || break
  sleep 0.2
done
if pgrep -f "$work/data/postgres" > /dev/null; then fail "embedded PostgreSQL still running"; fi
echo "smoke_wheel: $(basename "$wheel") installed in a fresh venv migrated, served on port $port and stopped cleanly"
