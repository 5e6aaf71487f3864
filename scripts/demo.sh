#!/usr/bin/env bash
# `make demo`: bring up the systemd test hosts of inventories/local (a monitoring host and two
# application hosts in two environments), deploy site.yml onto them, print where to look and a
# health summary. `make demo-down` removes the hosts and stops the private dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-1}"
INVENTORY="${DEMO_INVENTORY:-inventories/local}"

case "${1:-up}" in
  up)
    echo "==> test hosts (private dockerd, Debian 12 + systemd image; the first run builds it, about a minute)"
    DOCKER_HOST=$(tests/hosts/testhosts.sh up | tail -n1)
    export DOCKER_HOST
    ansible-playbook -i "$INVENTORY" playbooks/testhosts.yml
    echo "==> site.yml on $INVENTORY"
    ansible-playbook -i "$INVENTORY" site.yml
    echo
    ansible-playbook -i "$INVENTORY" playbooks/demo_report.yml
    ;;
  down)
    if tests/hosts/testhosts.sh status 2>/dev/null; then
      DOCKER_HOST=$(tests/hosts/testhosts.sh start | tail -n1)
      export DOCKER_HOST
      ansible-playbook -i "$INVENTORY" playbooks/testhosts.yml -e testhosts_state=absent
    fi
    tests/hosts/testhosts.sh stop
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
