#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/monitoring/stack (real
# path, no symlink): copy the tracked and untracked-but-not-ignored files into a temp tree, with
# our dependencies (from the venv's `ansible` package) beside it, and run it there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

mkdir -p ~/.ansible/test/cache
cp scripts/get_pip_offline.py ~/.ansible/test/cache/get_pip_24_2.py

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ms-sanity.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
C="$TMP/ansible_collections/monitoring/stack"
mkdir -p "$C"
git ls-files -z --cached --others --exclude-standard \
  | grep -zv '^collections/' \
  | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$C"
for dep in amazon/aws community/general ansible/posix; do
  mkdir -p "$TMP/ansible_collections/${dep%/*}"
  ln -s "$SITE/ansible_collections/$dep" "$TMP/ansible_collections/$dep"
done
cd "$C"
PATH="$(dirname "$PY"):$PATH" ansible-test sanity --venv --python 3.11 --color no "$@"
