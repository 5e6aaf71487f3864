#!/usr/bin/env bash
# Start or stop a moto server on a free loopback port (for manual runs and benchmarks).
#   tests/hosts/moto.sh start   prints the endpoint, e.g. http://127.0.0.1:40123
#   tests/hosts/moto.sh stop
set -euo pipefail
cd "$(dirname "$0")/../.."
PIDFILE="${MOTO_PIDFILE:-${XDG_CACHE_HOME:-$HOME/.cache}/monitoring-stack/moto.json}"
mkdir -p "$(dirname "$PIDFILE")"
PYTHON="${PYTHON:-.venv/bin/python}"
case "${1:-}" in
  start) exec "$PYTHON" -m tests.support.moto start "$PIDFILE" ;;
  stop) exec "$PYTHON" -m tests.support.moto stop "$PIDFILE" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
