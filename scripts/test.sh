#!/usr/bin/env bash
# Every test of the project. `test.sh all` is what `make test` and CI run.
#   test.sh lint | unit | sanity | molecule [SCENARIO...] | lab | all
# Exits non-zero on the first failing stage (`all` runs every stage and then
# fails if any did), and prints how long each stage took.
source "$(dirname "$0")/lib.sh"
activate_venv
cd "$REPO_ROOT"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

# Each stage returns non-zero itself on any failure: `all` calls them in an ||
# list, where bash's errexit does not apply.
stage_lint() {
  local rc=0
  log "yamllint"
  yamllint --strict . || rc=1
  log "ansible-lint (production profile, offline)"
  ansible-lint || rc=1
  log "actionlint and zizmor (GitHub workflows, offline)"
  actionlint || rc=1
  zizmor --offline --quiet .github || rc=1
  return "$rc"
}

# checkov's pins conflict with the project's (packaging<24 and others), so it
# lives in a venv of its own, rebuilt only when tests/checkov/requirements.txt changes.
ensure_checkov_venv() {
  local venv="$CACHE_DIR/checkov-venv" pins="$REPO_ROOT/tests/checkov/requirements.txt"
  if [ ! -x "$venv/bin/checkov" ] || ! cmp -s "$pins" "$venv/.pins"; then
    log "creating the checkov virtual environment"
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q -r "$pins" || return 1
    cp "$pins" "$venv/.pins"
  fi
  export CHECKOV_BIN="$venv/bin/checkov"
}

stage_unit() {
  log "pytest: unit and integration tests"
  local rc=0
  ensure_checkov_venv || return 1
  python -m pytest -p no:cacheprovider -q tests/unit tests/integration || rc=$?
  # pytest's 5 means it collected nothing: a suite that ran no test has failed.
  [ "$rc" -eq 5 ] && die "pytest collected no tests"
  return "$rc"
}

# ansible-test needs the collection under .../ansible_collections/sophia/platform,
# outside this git checkout (inside it, ansible-test would ask git and find the
# copy ignored). It installs each sanity test's pinned tools into a venv of its
# own under .cache, so the project's pins stay as they are.
stage_sanity() {
  local tree="${XDG_CACHE_HOME:-$HOME/.cache}/sophia-platform/ansible_collections/sophia/platform"
  local sanity_venv="$CACHE_DIR/sanity-venv"
  mkdir -p "$tree"
  log "copying the collection to $tree"
  git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' \
    | rsync -a --delete --from0 --ignore-missing-args --files-from=- ./ "$tree/" || return 1
  if [ ! -x "$sanity_venv/bin/ansible-test" ]; then
    log "creating the sanity virtual environment"
    python3 -m venv "$sanity_venv" || return 1
    "$sanity_venv/bin/pip" install -q --upgrade pip || return 1
    "$sanity_venv/bin/pip" install -q "$(grep '^ansible-core==' requirements.txt)" || return 1
  fi
  # ansible-test bootstraps pip in its venvs with a get-pip.py it downloads from
  # a host not reachable here; give it a stand-in that uses PyPI's pip wheel.
  local pip_version get_pip
  pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" \
    "$sanity_venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
  [ -n "$pip_version" ] || die "cannot read the pip version ansible-test wants"
  get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  if [ ! -f "$get_pip" ] || ! cmp -s "$REPO_ROOT/scripts/ansible-test-get-pip.py" "$get_pip"; then
    mkdir -p "$(dirname "$get_pip")"
    "$sanity_venv/bin/pip" download -q --no-deps -d "$(dirname "$get_pip")" "pip==$pip_version" || return 1
    cp "$REPO_ROOT/scripts/ansible-test-get-pip.py" "$get_pip" || return 1
  fi
  log "ansible-test sanity"
  local out
  out=$(mktemp)
  (cd "$tree" && PATH="$sanity_venv/bin:$PATH" "$sanity_venv/bin/ansible-test" sanity \
    --local --requirements --python 3.11 --color no) 2>&1 | tee "$out"
  local status=${PIPESTATUS[0]}
  if grep -q "All targets skipped" "$out"; then rm -f "$out"; die "ansible-test found nothing to test"; fi
  rm -f "$out"
  return "$status"
}

stage_molecule() {
  local scenarios=("$@") scenario
  if [ "${#scenarios[@]}" -eq 0 ]; then
    for scenario in molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$scenario")")"); done
  fi
  local failed=()
  for scenario in "${scenarios[@]}"; do
    "$REPO_ROOT/scripts/molecule-scenario.sh" "$scenario" || failed+=("$scenario")
  done
  [ "${#failed[@]}" -eq 0 ] || { printf 'molecule scenarios failed: %s\n' "${failed[*]}" >&2; return 1; }
}

# A fresh lab, site.yml, a fourth host through node-add.yml, real traffic
# (scripts/lab-test.sh); replaces a running lab and removes it at the end.
stage_lab() {
  "$REPO_ROOT/scripts/lab-test.sh"
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
  lab) stage_lab ;;
  all)
    failed=0
    timed lint stage_lint || failed=1
    timed unit stage_unit || failed=1
    timed sanity stage_sanity || failed=1
    timed molecule stage_molecule || failed=1
    timed lab stage_lab || failed=1
    log "summary"
    column -t -s $'\t' "$SUMMARY"
    [ "$failed" -eq 0 ] || die "some stages failed"
    ;;
  *) die "usage: $0 lint|unit|sanity|molecule [SCENARIO...]|lab|all" ;;
esac
