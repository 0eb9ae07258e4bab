#!/usr/bin/env bash
# The lab end to end, part of `make test` (stage lab): a fresh lab (scripts/lab.sh
# down, up), site.yml through ansible-runner, a fourth host started with
# `scripts/lab.sh add` and added through playbooks/node-add.yml, then real TCP/UDP
# traffic between the lab's containers (tests/lab). The lab is removed at the end,
# also on failure; a lab that was running before is replaced.
source "$(dirname "$0")/lib.sh"
activate_venv
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/lab.sh" down >/dev/null
trap '"$REPO_ROOT/scripts/lab.sh" down >/dev/null' EXIT
"$REPO_ROOT/scripts/lab.sh" up
log "pytest tests/lab: site.yml, node-add.yml, traffic"
SOPHIA_LAB_TEST=1 python -m pytest -p no:cacheprovider -q tests/lab "$@"
