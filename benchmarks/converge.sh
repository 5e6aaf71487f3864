#!/usr/bin/env bash
# Wall time of a fresh converge and of an idempotent re-run of a monitoring host (see converge.py).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
exec "$ROOT/.venv/bin/python" "$ROOT/benchmarks/converge.py" "$@"
