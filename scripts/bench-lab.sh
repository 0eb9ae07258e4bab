#!/usr/bin/env bash
# Times the lab: a first converge of site.yml on fresh hosts, then no-op re-runs
# (median of BENCH_RUNS, default 3) that must report zero changes. The project's
# bar: the median no-op re-run takes at most a quarter of the first converge.
# Recreates the lab hosts (scripts/lab.sh down/up) so "first" really is first.
source "$(dirname "$0")/lib.sh"
activate_venv
cd "$REPO_ROOT"
runs=${BENCH_RUNS:-3}
result_file="$CACHE_DIR/bench-lab.txt"
mkdir -p "$CACHE_DIR"

recap_changed() { grep -E ': ok=[0-9]+ +changed=' "$1" | sed -E 's/.*changed=([0-9]+).*/\1/' | paste -sd+ | bc; }
recap_failed() { grep -E ': ok=[0-9]+ ' "$1" | grep -cE 'failed=[1-9]|unreachable=[1-9]' || true; }

timed_site() {
  local log=$1 start end
  start=$(date +%s.%N)
  ansible-playbook -i inventories/lab site.yml > "$log" 2>&1 || { tail -30 "$log"; die "site.yml failed (log: $log)"; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg) at start"

log "recreating the lab"
scripts/lab.sh down >/dev/null
lab_start=$(date +%s.%N)
scripts/lab.sh up >/dev/null
lab_seconds=$(echo "$(date +%s.%N) - $lab_start" | bc)

log "first converge"
first_log=$(mktemp)
first=$(timed_site "$first_log")
first_changed=$(recap_changed "$first_log")
[ "$first_changed" -gt 0 ] || die "the first converge changed nothing: the lab was not fresh"

noop=()
for i in $(seq 1 "$runs"); do
  log "no-op re-run $i/$runs"
  rerun_log=$(mktemp)
  noop+=("$(timed_site "$rerun_log")")
  changed=$(recap_changed "$rerun_log")
  [ "$changed" -eq 0 ] || { grep -B3 -E '^changed:' "$rerun_log" | head -40; die "re-run $i changed $changed things"; }
  [ "$(recap_failed "$rerun_log")" -eq 0 ] || die "re-run $i failed on a host"
  rm -f "$rerun_log"
done
median=$(printf '%s\n' "${noop[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
ratio=$(echo "scale=3; $median / $first" | bc)

{
  echo "machine:               $machine"
  echo "date:                  $(date -u +%Y-%m-%dT%H:%MZ)"
  printf 'lab start (3 hosts):   %.1f s\n' "$lab_seconds"
  printf 'first converge:        %.1f s (%s changes)\n' "$first" "$first_changed"
  printf 'no-op re-runs:         %s s\n' "$(printf '%.1f ' "${noop[@]}")"
  printf 'no-op median:          %.1f s, 0 changes\n' "$median"
  printf 'ratio re-run / first:  %.2f (bar: 0.25)\n' "$ratio"
} | tee "$result_file"
rm -f "$first_log"
if [ "$(echo "$ratio > 0.25" | bc)" -eq 1 ]; then
  die "the no-op re-run takes more than a quarter of the first converge"
fi
