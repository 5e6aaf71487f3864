#!/usr/bin/env bash
# System packages the tests and the demo use, from Debian: the real Prometheus tools
# (promtool, amtool, node_exporter's binary for the archive-method mirror) and what the
# systemd test hosts need (docker.io, debootstrap), and PostgreSQL (a real database for the
# grafana role's shared-database settings). Installs only what is missing.
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
command -v shellcheck >/dev/null || need+=(shellcheck)
# PostgreSQL 15 server binaries (initdb, postgres, pg_ctl) and psql: the shared database of Grafana's HA tests.
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need root to apt-get install ${need[*]}" >&2; exit 1
  fi
  echo "setup: apt-get install ${need[*]}"
  apt-get update -qq
  # Installing a package does not start its service here (no systemd as PID 1).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
