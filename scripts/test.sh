#!/usr/bin/env bash
# `make test`: ansible-lint (production profile), ansible-test sanity, pytest (unit and
# integration, against real moto/Prometheus tools/HTTP on loopback), then every Molecule
# scenario on systemd test hosts. Runs every step, prints a summary, exits non-zero on any
# failure.
#   scripts/test.sh [--only lint|sanity|pytest|molecule] [--scenario NAME]...
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
export PATH="$ROOT/.venv/bin:$PATH" NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0
LOGDIR="$ROOT/tests/output/logs"
mkdir -p "$LOGDIR"

only="" scenarios=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --scenario) scenarios+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--only lint|sanity|pytest|molecule] [--scenario NAME]..." >&2; exit 2 ;;
  esac
done

results=()   # "status|step|seconds|note"
record() { results+=("$1|$2|$3|$4"); }

run_step() {  # run_step NAME LOGFILE COMMAND...
  local name="$1" log="$2"; shift 2
  local start=$SECONDS
  echo "==> $name"
  if "$@" >"$log" 2>&1; then
    record PASS "$name" $((SECONDS - start)) ""
    echo "    passed in $((SECONDS - start)) s"
  else
    local rc=$?
    record FAIL "$name" $((SECONDS - start)) "rc=$rc, log: ${log#"$ROOT"/}"
    echo "    FAILED (rc=$rc) in $((SECONDS - start)) s; last lines of $log:"
    tail -n 40 "$log" | sed 's/^/    | /'
  fi
}

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if want lint; then
  run_step "ansible-lint (production profile)" "$LOGDIR/lint.log" ansible-lint --nocolor
fi

if want sanity; then
  run_step "ansible-test sanity" "$LOGDIR/sanity.log" scripts/sanity.sh
fi

if want pytest; then
  start=$SECONDS
  echo "==> pytest (tests/unit, tests/integration)"
  pytest -p no:cacheprovider tests/unit tests/integration -ra --junitxml="$LOGDIR/pytest.xml" \
    >"$LOGDIR/pytest.log" 2>&1
  rc=$?
  # The skip reasons are part of the summary: a skipped check must say why.
  grep -E "^SKIPPED" "$LOGDIR/pytest.log" | sed 's/^/    /'
  tail -n 1 "$LOGDIR/pytest.log" | sed 's/^/    /'
  if [ $rc -eq 0 ]; then
    record PASS "pytest" $((SECONDS - start)) "$(tail -n 1 "$LOGDIR/pytest.log" | tr -d '=' | xargs)"
  else
    record FAIL "pytest" $((SECONDS - start)) "rc=$rc, log: tests/output/logs/pytest.log"
    grep -E "^(FAILED|ERROR)" "$LOGDIR/pytest.log" | head -n 40 | sed 's/^/    | /'
  fi
fi

if want molecule; then
  if [ ${#scenarios[@]} -eq 0 ]; then
    for f in extensions/molecule/*/molecule.yml; do
      scenarios+=("$(basename "$(dirname "$f")")")
    done
  fi
  was_running=no
  tests/hosts/testhosts.sh status 2>/dev/null && was_running=yes
  if out=$(tests/hosts/testhosts.sh up 2>"$LOGDIR/testhosts.log"); then
    export DOCKER_HOST="${out##*$'\n'}"
    # Stop the private dockerd when the tests end, unless someone else had started it.
    [ "$was_running" = yes ] || trap 'tests/hosts/testhosts.sh stop 2>/dev/null' EXIT
    for s in "${scenarios[@]}"; do
      run_step "molecule $s" "$LOGDIR/molecule-$s.log" molecule test -s "$s"
    done
  else
    record FAIL "molecule test hosts" 0 "tests/hosts/testhosts.sh up failed: $(tail -n 3 "$LOGDIR/testhosts.log" | tr '\n' ' ')"
  fi
fi

echo
echo "Summary"
printf '  %-5s %-42s %6s  %s\n' "" "step" "time" "note"
passed=0 failed=0 skipped=0
for r in "${results[@]}"; do
  IFS='|' read -r status step secs note <<<"$r"
  printf '  %-5s %-42s %5ss  %s\n' "$status" "$step" "$secs" "$note"
  case "$status" in PASS) passed=$((passed + 1)) ;; FAIL) failed=$((failed + 1)) ;; SKIP) skipped=$((skipped + 1)) ;; esac
done
echo "Logs: tests/output/logs/"
echo "make test: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
