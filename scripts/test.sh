#!/usr/bin/env bash
# Every test of the project. `test.sh all` is what `make test` and CI run.
#   test.sh lint | unit | sanity | molecule [SCENARIO...] | all
# Exits non-zero on the first failing stage (`all` runs every stage and then
# fails if any did), and prints how long each stage took.
source "$(dirname "$0")/lib.sh"
activate_venv
cd "$REPO_ROOT"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

stage_lint() {
  log "yamllint"
  yamllint --strict .
  log "ansible-lint (production profile, offline)"
  ansible-lint
}

stage_unit() {
  log "pytest: unit and integration tests"
  local rc=0
  python -m pytest -p no:cacheprovider -q tests/unit tests/integration || rc=$?
  # pytest's 5 means it collected nothing: a suite that ran no test has failed.
  [ "$rc" -eq 5 ] && die "pytest collected no tests"
  return "$rc"
}

# ansible-test needs the collection under .../ansible_collections/sophia/platform
# and installs each sanity test's pinned tools; both go under .cache, in a venv of
# their own so the project's pins stay as they are.
stage_sanity() {
  local tree="$CACHE_DIR/ansible-test/ansible_collections/sophia/platform"
  local sanity_venv="$CACHE_DIR/sanity-venv"
  mkdir -p "$tree"
  log "copying the collection to $tree"
  git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' \
    | rsync -a --delete --from0 --files-from=- ./ "$tree/"
  if [ ! -x "$sanity_venv/bin/ansible-test" ]; then
    log "creating the sanity virtual environment"
    python3 -m venv "$sanity_venv"
    "$sanity_venv/bin/pip" install -q --upgrade pip
    "$sanity_venv/bin/pip" install -q "$(grep '^ansible-core==' requirements.txt)"
  fi
  log "ansible-test sanity"
  (cd "$tree" && PATH="$sanity_venv/bin:$PATH" "$sanity_venv/bin/ansible-test" sanity \
    --local --requirements --python 3.11 --color no --exclude tests/output/)
}

stage_molecule() {
  local scenarios=("$@") scenario
  if [ "${#scenarios[@]}" -eq 0 ]; then
    for scenario in molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$scenario")")"); done
  fi
  for scenario in "${scenarios[@]}"; do
    "$REPO_ROOT/scripts/molecule-scenario.sh" "$scenario"
  done
}

timed() {
  local name=$1 start rc=0
  shift
  start=$(date +%s)
  "$@" || rc=$?
  printf '%s\t%s\t%ss\n' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "$(( $(date +%s) - start ))" >> "$SUMMARY"
  return "$rc"
}

SUMMARY=$(mktemp)
trap 'rm -f "$SUMMARY"' EXIT
stage=${1:-all}
shift || true
case "$stage" in
  lint) stage_lint ;;
  unit) stage_unit ;;
  sanity) stage_sanity ;;
  molecule) stage_molecule "$@" ;;
  all)
    failed=0
    timed lint stage_lint || failed=1
    timed unit stage_unit || failed=1
    timed sanity stage_sanity || failed=1
    timed molecule stage_molecule || failed=1
    log "summary"
    column -t -s $'\t' "$SUMMARY"
    [ "$failed" -eq 0 ] || die "some stages failed"
    ;;
  *) die "usage: $0 lint|unit|sanity|molecule [SCENARIO...]|all" ;;
esac
