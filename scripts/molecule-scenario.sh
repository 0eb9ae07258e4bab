#!/usr/bin/env bash
# One molecule scenario through the four steps every role must pass:
#   converge; converge again with zero changes (idempotence);
#   converge in --check mode with zero changes; verify (testinfra).
# The hosts are destroyed at the end, also when a step fails.
source "$(dirname "$0")/lib.sh"
activate_venv
cd "$REPO_ROOT"
scenario=${1:?usage: molecule-scenario.sh SCENARIO}
[ -f "molecule/$scenario/molecule.yml" ] || die "no scenario molecule/$scenario"

# molecule's destroy trusts its own state file, which a new checkout (CI) does
# not share with an earlier run: remove the platforms by name as well.
platforms=$(python -c 'import sys, yaml; print(" ".join(p["name"] for p in yaml.safe_load(open(sys.argv[1]))["platforms"]))' \
  "molecule/$scenario/molecule.yml")
cleanup() {
  molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  podman rm -f -t 5 $platforms >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A converge run in --check mode must not want to change anything on a
# converged host: any host with changed>0 in the recap fails the step.
check_zero_changes() {
  local out
  out=$(mktemp)
  molecule check -s "$scenario" 2>&1 | tee "$out"
  local status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || { rm -f "$out"; return "$status"; }
  if grep -E ': ok=[0-9]+ +changed=[1-9]' "$out"; then
    rm -f "$out"
    die "molecule/$scenario: --check on the converged hosts reports changes"
  fi
  grep -qE ': ok=[0-9]+ +changed=0' "$out" || { rm -f "$out"; die "molecule/$scenario: no play recap in the check run"; }
  rm -f "$out"
}

step() {
  local name=$1 start
  shift
  start=$(date +%s)
  log "molecule/$scenario: $name"
  "$@"
  log "molecule/$scenario: $name passed in $(( $(date +%s) - start ))s"
}

total=$(date +%s)
cleanup
step create molecule create -s "$scenario"
step prepare molecule prepare -s "$scenario"
step converge molecule converge -s "$scenario"
step "second converge, zero changes" molecule idempotence -s "$scenario"
step "converge --check, zero changes" check_zero_changes
step verify molecule verify -s "$scenario"
log "molecule/$scenario: all steps passed in $(( $(date +%s) - total ))s"
