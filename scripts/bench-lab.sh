#!/usr/bin/env bash
# Times site.yml on a bench lab of its own (scripts/lab.sh with SOPHIA_LAB_NAME:
# containers sophia-bench-*, network sophia-bench, 10.78.0.0/24), never the dev lab.
# For each size in BENCH_SIZES (default "3"; `make bench-16`: "3 16"), one after
# the other on the same machine: a fresh lab, the first converge, BENCH_RUNS
# (default 3) no-op re-runs and one --check run, each of which must change
# nothing, run no handler and restart no service (systemd's ActiveEnterTimestamp
# and MainPID of every active unit compared); the controller's peak memory and
# the hosts' memory after the converge; per role and per task profiles of the
# median no-op run. Size 3 is 1 server + 2 agents (the dev lab), larger sizes
# 3 servers + the rest agents (production's shape).
# Bars: no-op median <= 0.25 x first converge (3 hosts); --check <= no-op median;
# with 16 hosts, its first converge and no-op median each <= 3x the 3-host ones.
# Writes .cache/bench/{bench.txt,bench.md,lab-N.txt,*-N.*}; prints the table, then
# exits non-zero when a bar is missed. The lab is removed at the end (BENCH_KEEP=1
# keeps the last one).
source "$(dirname "$0")/lib.sh"
activate_venv
cd "$REPO_ROOT"
runs=${BENCH_RUNS:-3}
read -r -a sizes <<< "${BENCH_SIZES:-3}"
out="$CACHE_DIR/bench"
mkdir -p "$out"
export SOPHIA_LAB_NAME=${BENCH_LAB_NAME:-sophia-bench}
export SOPHIA_LAB_SUBNET=${BENCH_LAB_SUBNET:-10.78.0.0/24}
export SOPHIA_LAB_ROOT="$out/lab"
export SOPHIA_LAB_BOOT_WAIT=${SOPHIA_LAB_BOOT_WAIT:-600}
inventory="$SOPHIA_LAB_ROOT/inventories/lab"
# SSH master connections of their own, closed with the lab: the next lab reuses
# the addresses with new host keys.
export ANSIBLE_SSH_CONTROL_PATH_DIR="$out/cp"
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_roles,ansible.posix.profile_tasks
export PROFILE_TASKS_TASK_OUTPUT_LIMIT=all PROFILE_TASKS_SORT_ORDER=descending
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1

bench_down() {
  local socket
  for socket in "$ANSIBLE_SSH_CONTROL_PATH_DIR"/*; do
    [ -S "$socket" ] && ssh -o ControlPath="$socket" -O exit bench >/dev/null 2>&1 || true
  done
  scripts/lab.sh down >/dev/null 2>&1 || true
}
[ "${BENCH_KEEP:-0}" = 1 ] || trap bench_down EXIT
trap 'exit 130' INT TERM

# "role seconds" lines of the ROLES RECAP that ansible.posix.profile_roles prints.
roles_of() { sed -n '/^ROLES RECAP/,/^TASKS RECAP/p' "$1" | sed -nE 's/^([^ ]+) -{3,} +([0-9.]+)s$/\1 \2/p' | grep -v '^total '; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
recap_sum() { grep -E '^[^ ]+ +: ok=[0-9]+ ' "$1" | sed -E "s/.* $2=([0-9]+).*/\1/" | awk '{s+=$1} END {print s+0}'; }
recap_bad() { grep -E '^[^ ]+ +: ok=[0-9]+ ' "$1" | grep -cE 'failed=[1-9]|unreachable=[1-9]' || true; }

# Every active unit's start time and main PID on every bench host, read out of
# band; a restart or a re-executed oneshot moves them. Left out: the login units
# of the connection user, which come and go with its SSH sessions, and the
# bus-activated daemons that a read of the hostname or time zone starts and that
# exit when idle.
units() {
  local name
  for name in $(podman ps --filter label="org.sophia.lab.name=$SOPHIA_LAB_NAME" --format '{{.Names}}' | sort); do
    # shellcheck disable=SC2016
    podman exec "$name" sh -c 'systemctl list-units --state=active --no-legend --plain --type=service,socket,timer,path \
      | awk "{print \$1}" | grep -vE "^(user@|user-runtime-dir@|systemd-(hostname|timedate|locale)d\.service)" \
      | xargs -r systemctl show -p Id -p ActiveEnterTimestampMonotonic -p MainPID' \
      | awk -v RS= -v host="$name" '{gsub(/\n/, " "); print host, $0}'
  done | sort
}

# Runs site.yml once: seconds on stdout; log, /usr/bin/time -v report and the
# peak RSS of the whole ansible-playbook process tree (forks included) beside it.
timed_site() {
  local log=$1 start end pid rss peak=0
  shift
  start=$(date +%s.%N)
  # Its own session, so every fork and module process is counted.
  setsid /usr/bin/time -v -o "$log.time" ansible-playbook -i "$inventory" site.yml "$@" > "$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(ps -o rss= -s "$pid" 2>/dev/null | awk '{s+=$1} END {print s+0}')
    [ "$rss" -le "$peak" ] || peak=$rss
    sleep 1
  done
  wait "$pid" || { tail -30 "$log" >&2; die "site.yml failed (log: $log)"; }
  end=$(date +%s.%N)
  echo "$peak" > "$log.tree-rss"
  echo "$end - $start" | bc
}

declare -A first first_changed noop noop_runs check lab_start restarts handlers changes rss_max rss_tree mem_hosts
missed=()
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg) at start"

bench_size() {
  local n=$1 tag="lab-$n" servers log before after times=() i t median_log changed
  servers=$(( n >= 5 ? 3 : 1 ))
  export SOPHIA_LAB_SERVERS=$servers SOPHIA_LAB_AGENTS=$(( n - servers ))
  bench_down
  log "$n hosts: fresh bench lab ($SOPHIA_LAB_NAME, $servers server(s), $(( n - servers )) agents)"
  local t0; t0=$(date +%s.%N)
  scripts/lab.sh up > "$out/$tag-up.log" 2>&1 || { tail -20 "$out/$tag-up.log" >&2; die "the bench lab did not start"; }
  lab_start[$n]=$(echo "$(date +%s.%N) - $t0" | bc)

  log "$n hosts: first converge"
  log="$out/$tag-first.log"
  first[$n]=$(timed_site "$log")
  first_changed[$n]=$(recap_sum "$log" changed)
  [ "${first_changed[$n]}" -gt 0 ] || die "the first converge changed nothing: the lab was not fresh"
  [ "$(recap_bad "$log")" -eq 0 ] || die "the first converge failed on a host (log: $log)"
  rss_max[$n]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
  rss_tree[$n]=$(cat "$log.tree-rss")
  podman stats --no-stream --format '{{.Name}} {{.MemUsage}}' \
    $(podman ps --filter label="org.sophia.lab.name=$SOPHIA_LAB_NAME" --format '{{.Names}}') | sort > "$out/$tag-memory.txt"
  mem_hosts[$n]=$(awk '{v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-zA-Z]+$/, "", v); m=(u=="GB"?1024:(u=="kB"?1/1024:1)); s+=v*m; if (v*m>x) x=v*m} END {printf "%.0f MB total, %.0f MB max per host", s, x}' "$out/$tag-memory.txt")

  before=$(units)
  changes[$n]=0 handlers[$n]=0
  for i in $(seq 1 "$runs"); do
    log "$n hosts: no-op re-run $i/$runs"
    log="$out/$tag-noop-$i.log"
    t=$(timed_site "$log")
    times+=("$t")
    changed=$(recap_sum "$log" changed)
    [ "$(recap_bad "$log")" -eq 0 ] || die "no-op re-run $i failed on a host (log: $log)"
    [ "$changed" -eq 0 ] || { grep -B3 -E '^changed:' "$log" | head -40 || true; }
    changes[$n]=$(( ${changes[$n]} + changed ))
    handlers[$n]=$(( ${handlers[$n]} + $(grep -c '^RUNNING HANDLER' "$log" || true) ))
  done
  noop_runs[$n]=$(printf '%.1f ' "${times[@]}")
  noop[$n]=$(printf '%s\n' "${times[@]}" | median)
  # The profiles of the run closest to the median.
  median_log=$(for i in $(seq 1 "$runs"); do echo "$(echo "${times[$((i-1))]} - ${noop[$n]}" | bc | tr -d -) $out/$tag-noop-$i.log"; done | sort -n | head -1 | cut -d' ' -f2)
  sed -n '/^ROLES RECAP/,$p' "$median_log" > "$out/$tag-noop-profile.txt"
  roles_of "$median_log" > "$out/$tag-noop-roles.txt"
  python scripts/bench-profile.py "$median_log" > "$out/$tag-noop-plays.txt"

  log "$n hosts: --check run"
  log="$out/$tag-check.log"
  check[$n]=$(timed_site "$log" --check)
  [ "$(recap_bad "$log")" -eq 0 ] || die "the --check run failed on a host (log: $log)"
  changed=$(recap_sum "$log" changed)
  [ "$changed" -eq 0 ] || { grep -B3 -E '^changed:' "$log" | head -40 || true; }
  changes[$n]=$(( ${changes[$n]} + changed ))
  handlers[$n]=$(( ${handlers[$n]} + $(grep -c '^RUNNING HANDLER' "$log" || true) ))
  after=$(units)
  restarts[$n]=$(diff <(echo "$before") <(echo "$after") | grep -c '^>' || true)
  [ "${restarts[$n]}" -eq 0 ] || { diff <(echo "$before") <(echo "$after") | tee "$out/$tag-restarts.txt" | head -20 || true; }
  {
    echo "machine:                $machine"
    echo "date:                   $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg) at end"
    echo "hosts:                  $n ($servers server(s), $(( n - servers )) agents)"
    printf 'lab start:              %.1f s\n' "${lab_start[$n]}"
    printf 'first converge:         %.1f s (%s changes)\n' "${first[$n]}" "${first_changed[$n]}"
    printf 'no-op re-runs:          %s s\n' "${noop_runs[$n]}"
    printf 'no-op median:           %.1f s\n' "${noop[$n]}"
    printf 'ratio no-op / first:    %.2f\n' "$(echo "scale=3; ${noop[$n]} / ${first[$n]}" | bc)"
    printf '%s\n' "--check on converged:   $(printf '%.1f' "${check[$n]}") s"
    echo "re-runs + --check:      ${changes[$n]} changes, ${handlers[$n]} handlers, ${restarts[$n]} units restarted"
    echo "controller memory:      peak RSS $(( ${rss_max[$n]} / 1024 )) MB (largest process), $(( ${rss_tree[$n]} / 1024 )) MB (process tree, sampled 1/s), first converge"
    echo "hosts' memory:          ${mem_hosts[$n]} after the first converge ($tag-memory.txt)"
    echo "profiles:               $tag-noop-profile.txt (per role, per task), $tag-noop-plays.txt (per play)"
  } > "$out/$tag.txt"
  bench_down
}

for n in "${sizes[@]}"; do bench_size "$n"; done

ratio() { echo "scale=3; $1 / $2" | bc; }
{
  echo "| hosts | first converge | no-op median of $runs | no-op / first | --check | changes, handlers, restarts on re-run | controller peak RSS | hosts' memory |"
  echo "|---|---|---|---|---|---|---|---|"
  for n in "${sizes[@]}"; do
    # Beside a larger lab's figures, how many times the 3-host one they are (bar: 3x).
    x1="" x2=""
    if [ "$n" != 3 ] && [ -n "${first[3]:-}" ]; then
      x1=$(printf ', %.1fx' "$(ratio "${first[$n]}" "${first[3]}")") x2=$(printf ' (%.1fx)' "$(ratio "${noop[$n]}" "${noop[3]}")")
    fi
    printf '| %s | %.1f s (%s changes%s) | %.1f s%s | %.2f | %.1f s | %s, %s, %s | %s MB | %s |\n' "$n" "${first[$n]}" "${first_changed[$n]}" \
      "$x1" "${noop[$n]}" "$x2" "$(ratio "${noop[$n]}" "${first[$n]}")" "${check[$n]}" "${changes[$n]}" "${handlers[$n]}" "${restarts[$n]}" \
      "$(( ${rss_tree[$n]} / 1024 ))" "${mem_hosts[$n]}"
  done
  echo
  printf '| no-op time per role (median run) |'; for n in "${sizes[@]}"; do printf ' %s hosts |' "$n"; done; echo
  printf '|---|'; for n in "${sizes[@]}"; do printf -- '---|'; done; echo
  for role in $(for n in "${sizes[@]}"; do cat "$out/lab-$n-noop-roles.txt"; done | awk '!seen[$1]++ {print $1}'); do
    printf '| %s |' "$role"
    for n in "${sizes[@]}"; do
      t=$(awk -v r="$role" '$1 == r {print $2}' "$out/lab-$n-noop-roles.txt")
      printf ' %s |' "${t:+$t s}"
    done
    echo
  done
  echo
  echo "Machine: $machine; load $(cut -d' ' -f1-3 /proc/loadavg) at end; $(date -u +%Y-%m-%d)."
} > "$out/bench.md"

for n in "${sizes[@]}"; do
  [ "${changes[$n]}" -eq 0 ] || missed+=("$n hosts: the re-runs changed ${changes[$n]} things")
  [ "${handlers[$n]}" -eq 0 ] || missed+=("$n hosts: the re-runs ran ${handlers[$n]} handlers")
  [ "${restarts[$n]}" -eq 0 ] || missed+=("$n hosts: ${restarts[$n]} units restarted during the re-runs ($out/lab-$n-restarts.txt)")
  [ "$(echo "${check[$n]} <= ${noop[$n]}" | bc)" -eq 1 ] || missed+=("$n hosts: --check took longer than the no-op median")
done
if [ -n "${first[3]:-}" ]; then
  [ "$(echo "${noop[3]} <= 0.25 * ${first[3]}" | bc)" -eq 1 ] || missed+=("3 hosts: the no-op re-run takes more than a quarter of the first converge")
  for n in "${sizes[@]}"; do
    [ "$n" -gt 3 ] || continue
    [ "$(echo "${first[$n]} <= 3 * ${first[3]}" | bc)" -eq 1 ] || missed+=("$n hosts: first converge over 3x the 3-host one")
    [ "$(echo "${noop[$n]} <= 3 * ${noop[3]}" | bc)" -eq 1 ] || missed+=("$n hosts: no-op median over 3x the 3-host one")
  done
fi
{
  for n in "${sizes[@]}"; do cat "$out/lab-$n.txt"; echo; done
  cat "$out/bench.md"
  echo
  if [ "${#missed[@]}" -eq 0 ]; then echo "every bar met"; else printf 'MISSED: %s\n' "${missed[@]}"; fi
} | tee "$out/bench.txt"
[ "${#missed[@]}" -eq 0 ] || exit 1
