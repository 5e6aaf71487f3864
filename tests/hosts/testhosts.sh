#!/usr/bin/env bash
# Test hosts with a real systemd on a machine whose PID 1 is not systemd and that cannot pull
# images: a Debian 12 image built locally from a debootstrap rootfs, run by a private dockerd.
#
#   testhosts.sh deps     apt-install docker.io and debootstrap (once)
#   testhosts.sh image    build the image unless it exists (cached in $TESTHOSTS_STATE);
#                         TESTHOSTS_SUITES="trixie" also builds monitoring-stack/debian-systemd:trixie
#   testhosts.sh start    start the private dockerd (idempotent); prints the DOCKER_HOST value
#   testhosts.sh stop     remove our containers, stop dockerd, clean its leftover mounts
#   testhosts.sh env      print 'export DOCKER_HOST=...' for eval
#   testhosts.sh status   exit 0 when the private dockerd is running
#   testhosts.sh up       deps + start + image
#
# The private dockerd never touches the host firewall (--iptables=false, no bridge) and the
# containers use the host network: each test host gets its own 127.0.0.x listen address.
set -euo pipefail

STATE="${TESTHOSTS_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/monitoring-stack/testhosts}"
IMAGE="${MOLECULE_IMAGE:-monitoring-stack/debian-systemd:bookworm}"
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
EXECROOT="$STATE/exec"
DATAROOT="$STATE/data"
LOG="$STATE/dockerd.log"
export DOCKER_HOST="unix://$SOCKET"

log() { printf 'testhosts: %s\n' "$*" >&2; }

apt_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  # The machine's own Debian mirror (deb822 or one-line sources), else the default.
  local m
  m=$(grep -hoE '^(URIs:|deb) +(\[[^]]*\] +)?https?://[^ ]+/debian/?( |$)' \
        /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
      | grep -oE 'https?://[^ ]+' | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

cmd_deps() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && docker version >/dev/null 2>&1
}

cmd_start() {
  mkdir -p "$STATE" "$EXECROOT" "$DATAROOT"
  if running; then echo "$DOCKER_HOST"; return; fi
  log "starting a private dockerd ($SOCKET)"
  # setsid: dockerd must outlive the shell that started it, but not hold its terminal.
  setsid dockerd --data-root "$DATAROOT" --exec-root "$EXECROOT" -H "$DOCKER_HOST" \
    --pidfile "$PIDFILE" --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
    >"$LOG" 2>&1 < /dev/null &
  local _
  for _ in $(seq 1 60); do   # at most 30 s
    if docker version >/dev/null 2>&1; then echo "$DOCKER_HOST"; return; fi
    sleep 0.5
  done
  log "dockerd did not answer within 30 s; last lines of $LOG:"
  tail -n 20 "$LOG" >&2
  exit 1
}

# Our images are monitoring-stack/debian-systemd:<suite>, one per Debian suite (bookworm is the
# default; trixie gives Debian 13 hosts). Any other MOLECULE_IMAGE must already be loaded.
build_image() {  # build_image IMAGE
  local image="$1" suite
  running || cmd_start >/dev/null
  if docker image inspect "$image" >/dev/null 2>&1; then log "image $image present"; return; fi
  # Scenarios of several helpers may ask for the same image at once: one builds, the others wait
  # (at most 15 min, the time of a debootstrap on a slow mirror), then find it present.
  exec 9>"$STATE/image.lock"
  flock -w 900 9 || { log "another build of $image holds $STATE/image.lock for 15 min"; exit 1; }
  if docker image inspect "$image" >/dev/null 2>&1; then log "image $image present"; exec 9>&-; return; fi
  case "$image" in
    monitoring-stack/debian-systemd:bookworm|monitoring-stack/debian-systemd:trixie) suite="${image##*:}" ;;
    *) log "MOLECULE_IMAGE=$image is not present locally; load or pull it first"; exit 1 ;;
  esac
  local rootfs="$STATE/rootfs" mirror
  [ "$suite" = bookworm ] || rootfs="$STATE/rootfs-$suite"
  mirror=$(apt_mirror)
  if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
    rm -rf "$rootfs.partial"
    log "debootstrap $suite from $mirror (about a minute)"
    debootstrap --variant=minbase \
      --include=systemd,systemd-sysv,python3,python3-apt,dbus,ca-certificates,curl,gpg \
      "$suite" "$rootfs.partial" "$mirror" >"$STATE/debootstrap-$suite.log" 2>&1 \
      || { tail -n 20 "$STATE/debootstrap-$suite.log" >&2; exit 1; }
    chroot "$rootfs.partial" apt-get clean
    # Each container must get its own machine id at boot.
    : > "$rootfs.partial/etc/machine-id"
    rm -f "$rootfs.partial/var/lib/dbus/machine-id"
    mv "$rootfs.partial" "$rootfs"
  fi
  log "importing $image"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' - "$image" >/dev/null
  exec 9>&-
}

cmd_image() {
  build_image "$IMAGE"
  # Extra suites the tests use (e.g. TESTHOSTS_SUITES="trixie" for Debian 13 hosts).
  local suite
  for suite in ${TESTHOSTS_SUITES:-}; do build_image "monitoring-stack/debian-systemd:$suite"; done
}

cmd_stop() {
  if running; then
    local ids
    mapfile -t ids < <(docker ps -aq --filter label=monitoring-stack.testhost=true)
    if [ ${#ids[@]} -gt 0 ]; then
      # SIGRTMIN+3 is systemd's "halt"; then remove whatever is left.
      docker kill -s SIGRTMIN+3 "${ids[@]}" >/dev/null 2>&1 || true
      docker rm -f "${ids[@]}" >/dev/null 2>&1 || true
    fi
  fi
  if [ -f "$PIDFILE" ]; then
    local pid _
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
  fi
  # dockerd leaves its netns bind mount behind.
  umount "$EXECROOT/netns/default" 2>/dev/null || true
  log "stopped"
}

case "${1:-}" in
  deps) cmd_deps ;;
  start) cmd_start ;;
  image) cmd_image ;;
  stop) cmd_stop ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  status) running ;;
  up) cmd_deps; cmd_start >/dev/null; cmd_image; echo "$DOCKER_HOST" ;;
  *) echo "usage: $0 deps|start|image|stop|env|status|up" >&2; exit 2 ;;
esac
