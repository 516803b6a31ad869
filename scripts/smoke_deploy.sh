#!/usr/bin/env bash
# The README's "Deployment" section, step by step, from a fresh clone, as root: the service user, the wheel in its
# own venv (not editable), the env file, migrate/bootstrap/import with the CLI given that file, the repository's
# supervisord.conf under supervisord (the dev extra's, in a main configuration shaped like Debian's: 2 processes),
# nginx with deploy/nginx.conf (its routing block from `secondlayer deploy-config nginx`) over TLS sending
# X-Forwarded-*, then restarts measured from a client's side: `supervisorctl restart 'secondlayer:*'` alone (reported)
# and deploy/secondlayer-restart, rolling (must fail no call).
# Paths under /opt, /etc and /var are moved under a temporary root and ports to free ones; nothing else changes.
# Needs root, nginx and sudo (.ci/run installs them) and the dev venv (.venv, for supervisord and the load client).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
dev="$src/.venv/bin"
# Debian's python3 (python3-venv), as the README installs with: a Python under root's home is not for the service user.
python="${DEPLOY_PYTHON:-/usr/bin/python3}"
fail() { echo "smoke_deploy: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (it adds the service user and switches to it)"
for tool in nginx sudo openssl curl "$python"; do command -v "$tool" > /dev/null || fail "$tool is not installed"; done
[ -x "$dev/supervisord" ] || fail "no $dev/supervisord: make dev-venv first"

root="$(mktemp -d /tmp/sl-deploy-XXXXXX)"
chmod 0755 "$root"  # the service user must reach the venv and its directories below
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# PORT and PORT+1 for the two processes, PORT+100 for the standby (as supervisord.conf and deploy-config have them).
port=$("$python" -c '
import socket
for _ in range(200):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    try:
        for q in (p, p + 1, p + 100):
            with socket.socket() as t: t.bind(("127.0.0.1", q))
    except OSError: continue
    print(p); break')
standby_port=$((port + 100)); https_port=$(free_port)
conf_main="$root/etc/supervisor/supervisord.conf"
ctl=("$dev/supervisorctl" -c "$conf_main")
cleanup() {
  "${ctl[@]}" shutdown > /dev/null 2>&1 || true
  [ -f "$root/nginx/nginx.pid" ] && nginx -p "$root/nginx" -c "$root/nginx/nginx.conf" -s stop 2> /dev/null || true
  for _ in $(seq 1 100); do
    pgrep -f "$root/var/lib/secondlayer/postgres" > /dev/null || break
    sleep 0.2
  done
  rm -rf "$root"
}
trap cleanup EXIT
# The README's paths, under the temporary root.
place() {
  sed -e "s#/opt/secondlayer#$root/opt/secondlayer#g" -e "s#/etc/secondlayer#$root/etc/secondlayer#g" \
      -e "s#/var/lib/secondlayer#$root/var/lib/secondlayer#g" -e "s#/var/log/secondlayer#$root/var/log/secondlayer#g" \
      -e "s#--port 8100#--port $standby_port#" "$@"
}

# ---- step 1: packages (installed by .ci/run) and the service user ----------------------------------------------
id secondlayer > /dev/null 2>&1 || useradd --system --home-dir /var/lib/secondlayer --shell /usr/sbin/nologin secondlayer
install -d -o secondlayer -g secondlayer -m 0750 "$root/var/lib/secondlayer" "$root/var/log/secondlayer"

# ---- step 2: the wheel, built from a fresh clone, installed into its own venv -----------------------------------
git clone --quiet "$src" "$root/src"
cd "$root/src"
"$python" -m venv "$root/opt/secondlayer/venv"
venv="$root/opt/secondlayer/venv/bin"
rm -rf dist && "$venv/pip" wheel --quiet --no-deps -w dist .
"$venv/pip" install --quiet dist/secondlayer-*.whl
"$venv/pip" install --quiet --force-reinstall --no-deps dist/secondlayer-*.whl
(cd / && "$venv/python" -c 'import app, sys; sys.exit(None if "/site-packages/app/" in app.__file__ else app.__file__)') \
  || fail "app is not imported from the installed wheel"

# ---- step 3: the env file ---------------------------------------------------------------------------------------
install -d -m 0755 "$root/etc/secondlayer"
install -m 0640 -g secondlayer deploy/secondlayer.env.example "$root/etc/secondlayer/secondlayer.env"
place -i -e "s#^PUBLIC_URL=.*#PUBLIC_URL=https://127.0.0.1:$https_port#" -e "s#^PORT=.*#PORT=$port#" \
  -e "s#^ADMIN_EMAIL=.*#ADMIN_EMAIL=ops@example.org#" -e "s#^\#BCRYPT_ROUNDS=.*#BCRYPT_ROUNDS=4#" \
  "$root/etc/secondlayer/secondlayer.env"
env_file="$root/etc/secondlayer/secondlayer.env"

# ---- step 4: schema, first operator, data: the CLI as the service user, with the server's env file --------------
cd /  # the README runs these from anywhere: nothing may depend on the working directory
sl() { sudo -u secondlayer "$venv/secondlayer" --env-file "$env_file" "$@"; }
sl migrate > "$root/migrate.log" || { cat "$root/migrate.log"; fail "migrate failed"; }
grep -q "^database: embedded PostgreSQL in $root/var/lib/secondlayer" "$root/migrate.log" \
  || { cat "$root/migrate.log"; fail "migrate did not name the database"; }
sl bootstrap > "$root/bootstrap.log" || { cat "$root/bootstrap.log"; fail "bootstrap failed"; }
grep -q "created operator ops@example.org with password" "$root/bootstrap.log" || fail "no first operator"
grep -q "loaded the demo corpus" "$root/bootstrap.log" || fail "no demo corpus"

# ---- step 5: supervisord runs the repository's supervisord.conf (from the checkout) ------------------------------
cd "$root/src"
install -d "$root/etc/supervisor/conf.d" "$root/var/log/supervisor" "$root/bin"
cat > "$conf_main" <<EOF
; Debian's /etc/supervisor/supervisord.conf, under the temporary root.
[unix_http_server]
file=$root/supervisor.sock
chmod=0700
[supervisord]
logfile=$root/var/log/supervisor/supervisord.log
pidfile=$root/supervisord.pid
childlogdir=$root/var/log/supervisor
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$root/supervisor.sock
[include]
files = $root/etc/supervisor/conf.d/*.conf
EOF
place supervisord.conf > "$root/etc/supervisor/conf.d/secondlayer.conf"
place deploy/secondlayer-restart > "$root/bin/secondlayer-restart"
chmod 0755 "$root/bin/secondlayer-restart"
env -i PATH="$PATH" "$dev/supervisord" -c "$conf_main"  # as at boot: nothing from this shell's environment
ready() { curl -fs -o /dev/null --retry 90 --retry-delay 1 --retry-connrefused "$@"; }
for p in "$port" $((port + 1)); do
  ready "http://127.0.0.1:$p/readyz" || { tail -20 "$root/var/log/secondlayer/"*; fail "the server on $p did not become ready"; }
done
pid=$("${ctl[@]}" pid secondlayer:secondlayer-0)
[ "$(ps -o user= -p "$pid")" = secondlayer ] || fail "the server runs as $(ps -o user= -p "$pid"), not secondlayer"

# ---- step 6: nginx with deploy/nginx.conf over TLS, its routing block printed for this host -----------------------
mkdir -p "$root/nginx/logs" "$root/nginx/sites"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout "$root/nginx/key.pem" \
  -out "$root/nginx/cert.pem" 2> /dev/null
place -e "s#listen 443 ssl;#listen 127.0.0.1:$https_port ssl;#" -e "/listen \[::\]/d" -e "s#listen 80;#listen 127.0.0.1:$(free_port);#" \
  -e "s#/etc/letsencrypt/live/stage.example.org/fullchain.pem#$root/nginx/cert.pem#" \
  -e "s#/etc/letsencrypt/live/stage.example.org/privkey.pem#$root/nginx/key.pem#" \
  "$src/deploy/nginx.conf" > "$root/nginx/site.conf"
sl deploy-config nginx > "$root/nginx/routing.conf" 2> /dev/null
"$python" - "$root/nginx/site.conf" "$root/nginx/routing.conf" > "$root/nginx/sites/secondlayer" <<'PY'
import sys
site, routing = (open(path).read() for path in sys.argv[1:3])
begin, end = site.index("# --- routing:"), site.index("# --- routing: end ---")
print(site[:begin] + routing.split("\ndatabase:")[0].rstrip("\n") + site[site.index("\n", end):], end="")
PY
cat > "$root/nginx/nginx.conf" <<EOF
# Debian's nginx.conf, reduced, under the temporary root.
user www-data;
worker_processes 1;
pid $root/nginx/nginx.pid;
error_log $root/nginx/logs/error.log;
events { worker_connections 256; }
http {
    access_log $root/nginx/logs/access.log;
    client_body_temp_path $root/nginx/body;
    proxy_temp_path $root/nginx/proxy;
    include $root/nginx/sites/*;
}
EOF
nginx -p "$root/nginx" -c "$root/nginx/nginx.conf" -t 2> "$root/nginx/test.log" || { cat "$root/nginx/test.log"; fail "nginx -t"; }
nginx -p "$root/nginx" -c "$root/nginx/nginx.conf"
base="https://127.0.0.1:$https_port"

# ---- step 7: check it: readiness, an API key from the CLI, a search through the proxy -----------------------------
ready --insecure "$base/readyz"
curl -fsS --insecure "$base/readyz" | grep -q '"ready"' || fail "not ready through nginx"
key=$(sl create-api-key --user ops@example.org --name smoke --json | "$venv/python" -c 'import json,sys; print(json.load(sys.stdin)["key"])')
curl -fsS --insecure -X POST "$base/api/tools/search_court_cases" -H "Authorization: Bearer $key" \
  -H "X-Forwarded-For: 198.51.100.23" -H 'Content-Type: application/json' -d '{"query": "позов"}' > "$root/search.json"
"$venv/python" -c 'import json,sys; assert json.load(open(sys.argv[1]))["results"]' "$root/search.json" \
  || fail "the demo corpus is not searchable through the proxy"
sl list-api-keys --user ops@example.org | grep -q " smoke .* active" || fail "list-api-keys does not show the key"
# X-Forwarded-*: nginx appended the client's address to the chain and said https; the server believed it (loopback
# is a trusted proxy), so the access line carries the address the chain started with.
grep -q '"path": "/api/tools/search_court_cases", "status": 200, .*"ip": "198.51.100.23"' \
  "$root/var/log/secondlayer/"secondlayer-[01].log || fail "the forwarded client address is not in the access log"
# PUBLIC_URL is https, so cookies are Secure.
curl -fsS --insecure -o /dev/null -D "$root/headers" "$base/admin/login"
grep -qi '^set-cookie: _xsrf=.*; secure' "$root/headers" || fail "no Secure cookie behind the TLS proxy"

# ---- step 8: keep the data current: import again (the same publication changes nothing) --------------------------
demo="$("$venv/python" -c 'import app, pathlib; print(pathlib.Path(app.__file__).parent / "demo")')"
sl import rada-deputies "$demo/rada/mps-data-skl9.json" 2> /dev/null | grep -q "0 new, 0 updated, 462 unchanged" \
  || fail "a repeated import did not leave the deputies unchanged"

# ---- step 9: restarts, measured from the client's side through nginx -------------------------------------------
measure() { "$dev/python" "$src/scripts/measure_restart.py" --url "$base" --key "$key" --insecure "$@"; }
echo "smoke_deploy: a plain restart (both processes at once):"
measure -- "${ctl[@]}" restart 'secondlayer:*' | sed 's/^/  /'
: > "$root/nginx/logs/error.log"  # its 502s; what follows must add none
ready "http://127.0.0.1:$port/readyz"; ready "http://127.0.0.1:$((port + 1))/readyz"
echo "smoke_deploy: deploy/secondlayer-restart (rolling, one process at a time, the standby beside them):"
SUPERVISORCTL="${ctl[*]}" PORT="$port" STANDBY_PORT="$standby_port" \
  measure --require-zero -- "$root/bin/secondlayer-restart" | sed 's/^/  /' \
  || { tail -5 "$root/nginx/logs/error.log"; fail "secondlayer-restart failed calls"; }
[ "$("${ctl[@]}" status secondlayer-standby | awk '{print $2}')" = STOPPED ] || fail "the standby is still running"

# ---- step 10: logs: every line JSON, nothing on stderr, then a clean stop ------------------------------------------
"${ctl[@]}" stop 'secondlayer:*' > /dev/null
for log in secondlayer-0.log secondlayer-1.log secondlayer-standby.log; do
  "$venv/python" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$root/var/log/secondlayer/$log" \
    || fail "$log holds a line that is not JSON"
done
for k in 0 1; do
  grep -q '"msg": "stopped"' "$root/var/log/secondlayer/secondlayer-$k.log" || fail "no clean shutdown in process $k's log"
done
for log in secondlayer-0.err.log secondlayer-1.err.log secondlayer-standby.err.log; do
  [ ! -s "$root/var/log/secondlayer/$log" ] || { cat "$root/var/log/secondlayer/$log"; fail "$log is not empty"; }
done
echo "smoke_deploy: wheel in $root/opt/secondlayer/venv served by supervisord as secondlayer behind nginx; restarts measured"
