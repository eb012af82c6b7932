#!/usr/bin/env bash
# Run a command against a private, throwaway PostgreSQL and Redis.
#
#   scripts/with-services.sh <command> [args...]
#
# Starts a fresh PostgreSQL cluster and a Redis server in a temporary
# directory, each on a free port on 127.0.0.1, exports
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:<port>/terrafusion
#   REDIS_URL=redis://127.0.0.1:<port>/0
#
# runs the command, then stops both servers and deletes the directory
# (also on Ctrl-C / SIGTERM). Exits with the command's exit status.
# The machine's own PostgreSQL/Redis services are never touched.
#
# Tunables (environment):
#   PG_BIN                  directory holding initdb/pg_ctl (default: newest
#                           /usr/lib/postgresql/*/bin, else from $PATH)
#   WITH_SERVICES_TIMEOUT   seconds to wait for the servers (default 30)
#   WITH_SERVICES_QUIET=1   no status lines on stderr
set -euo pipefail

me=with-services
say() { [[ ${WITH_SERVICES_QUIET:-} == 1 ]] || echo "$me: $*" >&2; }
die() {
  echo "$me: error: $*" >&2
  exit 1
}

if (($# == 0)); then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

timeout_s=${WITH_SERVICES_TIMEOUT:-30}
db_name=terrafusion
is_root=0
[[ $(id -u) == 0 ]] && is_root=1
start_ts=$(date +%s.%N)

# ---------------------------------------------------------------- binaries
find_pg_bin() {
  if [[ -n ${PG_BIN:-} ]]; then
    [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] && return 0
    die "PG_BIN=$PG_BIN has no initdb/pg_ctl"
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
    PG_BIN=$d
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PG_BIN=$(dirname "$(command -v initdb)")
    return 0
  fi
  return 1
}

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

apt_install() {
  ((is_root)) || die "missing $*; install them (apt-get install $*) or run as root"
  command -v apt-get >/dev/null 2>&1 || die "missing $* and no apt-get to install them"
  say "installing $* (apt-get)..."
  # Keep the distro's services from being started by the package scripts.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local ok=0
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    ok=1
  fi
  ((made_policy)) && rm -f "$policy"
  ((ok)) || die "apt-get install $* failed"
}

missing=()
find_pg_bin || missing+=(postgresql)
have_redis || missing+=(redis-server)
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
  find_pg_bin || die "PostgreSQL server binaries (initdb, pg_ctl) still not found"
  have_redis || die "redis-server/redis-cli still not found"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to pick free ports"

# Run PostgreSQL tools as the `postgres` system user when we are root
# (initdb and postgres refuse to run as root); otherwise as ourselves.
if ((is_root)); then
  if ! id -u postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql \
      --shell /bin/bash postgres || die "could not create the postgres user"
  fi
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
  as_pg() { "$@"; }
fi

# ------------------------------------------------------------ state/cleanup
tmp=
pg_started=0
redis_port=
child=
got_signal=0

# Alive = exists and is not a zombie (exited daemons are reparented to
# PID 1, which may be slow to reap them).
pid_alive() {
  if [[ -r /proc/$1/stat ]]; then
    local stat
    stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

stop_redis() {
  [[ -n $redis_port ]] || return 0
  local pid=
  [[ -s $tmp/redis.pid ]] && pid=$(<"$tmp/redis.pid")
  redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  if [[ -n $pid ]]; then
    local i
    for ((i = 0; i < 50; i++)); do
      pid_alive "$pid" || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

stop_pg() {
  ((pg_started)) || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg" -m fast -w -t 20 stop >/dev/null 2>&1 && return 0
  as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg" -m immediate -w -t 10 stop >/dev/null 2>&1 && return 0
  if [[ -s $tmp/pg/postmaster.pid ]]; then
    kill -9 "$(head -n 1 "$tmp/pg/postmaster.pid")" 2>/dev/null || true
    sleep 0.5
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  set +e
  stop_redis
  stop_pg
  [[ -n $tmp && -d $tmp ]] && rm -rf "$tmp"
  exit "$rc"
}

# Is the child in the terminal's foreground process group? Then a Ctrl-C
# already reached it and must not be sent a second time.
child_in_tty_foreground() {
  [[ -r /proc/$child/stat ]] || return 1
  local stat rest
  stat=$(<"/proc/$child/stat") || return 1
  rest=${stat##*) }
  local pgrp tty tpgid
  read -r _ _ pgrp _ tty tpgid _ <<<"$rest"
  [[ $tty != 0 && $tpgid == "$pgrp" ]]
}

on_signal() { # $1: signal name, $2: exit status to use
  got_signal=$2
  if [[ -z $child ]]; then
    exit "$2" # still starting up: EXIT trap cleans up
  fi
  if [[ $1 != INT ]] || ! child_in_tty_foreground; then
    kill -s "$1" "$child" 2>/dev/null || true
  fi
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# --------------------------------------------------------------- tmp dir
base=${TMPDIR:-/tmp}
if ((is_root)) && ! runuser -u postgres -- test -x "$base" 2>/dev/null; then
  base=/tmp
fi
tmp=$(mktemp -d "${base%/}/terrafusion-services.XXXXXX")
mkdir "$tmp/redis"
((is_root)) && chown postgres: "$tmp"
chmod 700 "$tmp"

read -r pg_port redis_port_free < <(python3 -c '
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
')

# ------------------------------------------------------------ PostgreSQL
as_pg "$PG_BIN/initdb" -D "$tmp/pg" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C --no-sync --no-instructions >"$tmp/initdb.log" 2>&1 || {
  cat "$tmp/initdb.log" >&2
  die "initdb failed"
}
cat >>"$tmp/pg/postgresql.conf" <<EOF

# --- with-services.sh: private, throwaway test cluster ---
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$tmp'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
pg_started=1
if ! as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w -t "$timeout_s" \
  start >/dev/null 2>&1; then
  tail -n 30 "$tmp/postgres.log" >&2 2>/dev/null || true
  die "PostgreSQL failed to start on 127.0.0.1:$pg_port"
fi

# ----------------------------------------------------------------- Redis
redis_port=$redis_port_free
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
  --daemonize yes --pidfile "$tmp/redis.pid" --dir "$tmp/redis" \
  --logfile "$tmp/redis.log" </dev/null >"$tmp/redis.out" 2>&1 || {
  cat "$tmp/redis.out" "$tmp/redis.log" >&2 2>/dev/null || true
  die "redis-server failed to start on 127.0.0.1:$redis_port"
}

# ----------------------------------------------------------------- wait
pg_isready_bin=$PG_BIN/pg_isready
[[ -x $pg_isready_bin ]] || pg_isready_bin=pg_isready
deadline=$(($(date +%s) + timeout_s))
pg_ok=0
redis_ok=0
while :; do
  if ((!pg_ok)) && "$pg_isready_bin" -q -h 127.0.0.1 -p "$pg_port" -t 1; then
    pg_ok=1
  fi
  if ((!redis_ok)) &&
    [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]]; then
    redis_ok=1
  fi
  ((pg_ok && redis_ok)) && break
  if (($(date +%s) >= deadline)); then
    if ((!pg_ok)); then
      tail -n 30 "$tmp/postgres.log" >&2 2>/dev/null || true
      echo "$me: error: PostgreSQL not accepting connections on 127.0.0.1:$pg_port after ${timeout_s}s" >&2
    fi
    if ((!redis_ok)); then
      tail -n 30 "$tmp/redis.log" >&2 2>/dev/null || true
      echo "$me: error: Redis not answering PING on 127.0.0.1:$redis_port after ${timeout_s}s" >&2
    fi
    exit 1
  fi
  sleep 0.1
done

createdb_bin=$PG_BIN/createdb
[[ -x $createdb_bin ]] || createdb_bin=createdb
"$createdb_bin" -h 127.0.0.1 -p "$pg_port" -U postgres "$db_name" ||
  die "could not create database $db_name"

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/$db_name"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
  "$start_ts" "$(date +%s.%N)")
say "PostgreSQL 127.0.0.1:$pg_port, Redis 127.0.0.1:$redis_port ready in ${elapsed}s (dir $tmp)"

# ------------------------------------------------------------------- run
# Run in the background so that signal traps fire while we wait. Bash gives
# background commands SIGINT/SIGQUIT ignored and stdin from /dev/null; undo
# both so the command behaves as in the foreground (Ctrl-C, pdb, ...).
set +e
if { true <&0; } 2>/dev/null; then
  (
    trap - INT QUIT
    exec "$@"
  ) <&0 &
else
  (
    trap - INT QUIT
    exec "$@"
  ) </dev/null &
fi
child=$!
# `wait` returns early (status > 128) when a trapped signal arrives; keep
# waiting until the command has really finished, then collect its status.
while :; do
  wait "$child"
  rc=$?
  if [[ -r /proc/$child/stat ]] || { [[ ! -d /proc/self ]] && kill -0 "$child" 2>/dev/null; }; then
    continue
  fi
  break
done
if ((rc == 0 && got_signal)); then
  rc=$got_signal
fi
exit "$rc"
