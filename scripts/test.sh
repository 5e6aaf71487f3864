#!/usr/bin/env bash
# `make test`: ansible-lint (production profile), ansible-test sanity, pytest (unit and
# integration, against real moto/Prometheus tools/HTTP on loopback), then every Molecule
# scenario on systemd test hosts. Runs every step, prints a summary, exits non-zero on any
# failure.
#   scripts/test.sh [--only lint|sanity|pytest|molecule] [--matrix] [--scenario NAME[@LINE]]...
# NAME@LINE runs a scenario on one Debian line (bookworm, trixie, sid): prometheus_lines takes
# its binaries from that line (MS_LINE), any other scenario runs on that suite's test hosts
# (MOLECULE_IMAGE=monitoring-stack/debian-systemd:LINE). Without --scenario, `make test` runs
# every scenario but prometheus_upgrade, and prometheus_lines on the newest and the oldest line;
# --matrix (`make test-matrix`) runs only the version matrix: prometheus_lines on every line,
# prometheus_upgrade, and prometheus_default on Debian 12 hosts (its default hosts are Debian 13).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
export PATH="$ROOT/.venv/bin:$PATH" NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0
LOGDIR="$ROOT/tests/output/logs"
mkdir -p "$LOGDIR"
LINES=(bookworm trixie sid)
# The Debian 13 test hosts prometheus_default runs on by default (built once, cached).
export TESTHOSTS_SUITES="${TESTHOSTS_SUITES:-trixie}"

only="" scenarios=() matrix=no
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --scenario) scenarios+=("$2"); shift 2 ;;
    --matrix) matrix=yes; only="${only:-molecule}"; shift ;;
    *) echo "usage: $0 [--only lint|sanity|pytest|molecule] [--matrix] [--scenario NAME[@LINE]]..." >&2; exit 2 ;;
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
  # Two workers (PYTEST_WORKERS), a test file per worker at a time: a file's tests share its fixtures
  # and its 127.0.0.x addresses, different files use different ones.
  pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadfile tests/unit tests/integration -ra --junitxml="$LOGDIR/pytest.xml" \
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

run_scenario() {  # run_scenario NAME[@LINE]; in a lane, its result also goes to $RESULTS_FILE
  _run_scenario "$1"
  if [ -n "${RESULTS_FILE:-}" ]; then printf '%s\n' "${results[-1]}" >>"$RESULTS_FILE"; fi
}

_run_scenario() {
  local spec="$1" name="${1%@*}" line="" log
  [ "$spec" = "$name" ] || line="${spec#*@}"
  if [ ! -f "extensions/molecule/$name/molecule.yml" ]; then
    record FAIL "molecule $spec" 0 "no scenario extensions/molecule/$name"; return
  fi
  if [ -n "$line" ] && [[ " ${LINES[*]} " != *" $line "* ]]; then
    record FAIL "molecule $spec" 0 "unknown line $line (one of ${LINES[*]})"; return
  fi
  log="$LOGDIR/molecule-$name${line:+-$line}.log"
  rm -f "$LOGDIR/prometheus_lines-$line-versions.json"
  if [ -z "$line" ]; then
    run_step "molecule $spec" "$log" molecule test -s "$name"
  elif [ "$name" = prometheus_lines ]; then
    run_step "molecule $spec" "$log" env MS_LINE="$line" molecule test -s "$name"
  else
    run_step "molecule $spec" "$log" env MOLECULE_IMAGE="monitoring-stack/debian-systemd:$line" molecule test -s "$name"
  fi
  # The versions the line ran, as the scenario's prepare read them from the binaries.
  if [ "$name" = prometheus_lines ] && [ -f "$LOGDIR/prometheus_lines-$line-versions.json" ]; then
    echo "    versions: $(tr -d '\n ' <"$LOGDIR/prometheus_lines-$line-versions.json")"
    results[-1]="${results[-1]} $(tr -d '\n "{}' <"$LOGDIR/prometheus_lines-$line-versions.json")"
  fi
}

# Seconds a scenario took in the last full run (2026-12-02): only to balance the lanes.
scenario_weight() {
  case "$1" in
    ha_failover) echo 425 ;; prometheus_lines@*) echo 290 ;; prometheus_default*) echo 269 ;;
    blackbox_exporter_default*) echo 219 ;; prometheus_alternative*) echo 212 ;; grafana_loki_default*) echo 194 ;;
    prometheus_upgrade*) echo 300 ;; *) echo 90 ;;
  esac
}

# Scenarios in MOLECULE_LANES parallel lanes (default 2): each lane runs its share one after the
# other. They can share the machine: each scenario has its own hosts and 127.0.0.x addresses, the
# image build and a line's staging take a lock, and the lines of one scenario share a lane (they
# reuse its host names). Longest first, each to the lane with the least work so far.
run_lanes() {
  local lanes="${MOLECULE_LANES:-2}" spec i best name
  [ "$lanes" -ge 1 ] 2>/dev/null || lanes=1
  local -a load=() plan=()
  declare -A lane_by_name=()
  for ((i = 0; i < lanes; i++)); do load[i]=0; plan[i]=""; done
  while read -r _weight spec; do
    name="${spec%@*}"
    if [ -n "${lane_by_name[$name]:-}" ]; then
      best="${lane_by_name[$name]}"
    else
      best=0
      for ((i = 1; i < lanes; i++)); do [ "${load[i]}" -lt "${load[best]}" ] && best=$i; done
      lane_by_name[$name]=$best
    fi
    load[best]=$((load[best] + $(scenario_weight "$spec")))
    plan[best]="${plan[best]} $spec"
  done < <(for spec in "$@"; do echo "$(scenario_weight "$spec") $spec"; done | sort -rn -s -k1,1)
  local dir
  dir=$(mktemp -d)
  for ((i = 0; i < lanes; i++)); do
    [ -n "${plan[i]}" ] || continue
    echo "==> molecule lane $((i + 1)):${plan[i]}"
    (
      # shellcheck disable=SC2030  # the lane's own results; they come back through $RESULTS_FILE
      results=()
      export RESULTS_FILE="$dir/lane$i"
      for spec in ${plan[i]}; do
        run_scenario "$spec"
      done 2>&1 | sed -u "s/^/[lane $((i + 1))] /"
    ) &
  done
  wait
  local line
  for ((i = 0; i < lanes; i++)); do
    [ -f "$dir/lane$i" ] || continue
    # shellcheck disable=SC2031  # this is the parent's array, which the lanes never changed
    while IFS= read -r line; do results+=("$line"); done <"$dir/lane$i"
  done
  rm -rf "$dir"
}

if want molecule; then
  if [ ${#scenarios[@]} -eq 0 ] && [ "$matrix" = yes ]; then
    scenarios=(prometheus_lines@bookworm prometheus_lines@trixie prometheus_lines@sid prometheus_upgrade
               prometheus_default@bookworm)
  elif [ ${#scenarios[@]} -eq 0 ]; then
    for f in extensions/molecule/*/molecule.yml; do
      s="$(basename "$(dirname "$f")")"
      case "$s" in
        prometheus_upgrade) ;;   # make test-matrix only
        prometheus_lines) scenarios+=(prometheus_lines@sid prometheus_lines@bookworm) ;;
        *) scenarios+=("$s") ;;
      esac
    done
  fi
  was_running=no
  tests/hosts/testhosts.sh status 2>/dev/null && was_running=yes
  if out=$(tests/hosts/testhosts.sh up 2>"$LOGDIR/testhosts.log"); then
    export DOCKER_HOST="${out##*$'\n'}"
    # Stop the private dockerd when the tests end, unless someone else had started it.
    [ "$was_running" = yes ] || trap 'tests/hosts/testhosts.sh stop 2>/dev/null' EXIT
    run_lanes "${scenarios[@]}"
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
# CI shows only the tail of this output: name the failure here, not only the log's path.
for r in "${results[@]}"; do
  IFS='|' read -r status step secs note <<<"$r"
  log="${note##*log: }"
  if [ "$status" = FAIL ] && [ "$log" != "$note" ] && [ -f "$log" ]; then
    echo "  $step, last errors in $log:"
    grep -E 'fatal:|FAILED!|failed=[1-9]|ERROR|Error:|AssertionError|^E  ' "$log" | tail -n 6 | cut -c1-240 | sed 's/^/    /'
  fi
done
echo "Logs: tests/output/logs/"
echo "make test: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
