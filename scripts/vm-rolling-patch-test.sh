#!/usr/bin/env bash
# playbooks/rolling-patch.yml rebooting a real (emulated) machine: boots the
# Debian 12 guest of scripts/vm-test.sh (scripts/vm-lib.sh, same base image),
# marks a reboot as required the way package maintainer scripts do
# (/run/reboot-required), runs the rolling patch against it over SSH as the
# non-root sudo user, and tests/vm/test_rolling_patch_reboot.py checks the guest
# really rebooted (a new boot_id), came back and recorded the patch. The guest
# has no cluster, so the drain steps are skipped (rolling_patch_without_cluster).
# Containers cannot reboot: that is why this is a VM. Not part of `make test`.
#   scripts/vm-rolling-patch-test.sh [--rebuild]
source "$(dirname "$0")/lib.sh"
# Its own port and run directory: it can run beside the other VM tests.
VM_PORT="${VM_PATCH_SSH_PORT:-2297}"
VM_RUN_NAME=run-patch
source "$(dirname "$0")/vm-lib.sh"

activate_venv
cd "$REPO_ROOT"
ensure_image "${1:-}"
start_vm
boot_before=$(vm_ssh cat /proc/sys/kernel/random/boot_id)
log "guest up ($(elapsed)); marking a reboot as required, then the rolling patch"
vm_ssh sudo touch /run/reboot-required
write_inventory
play_start=$(date +%s)
ansible-playbook -i "$RUN_DIR/inventory.yml" playbooks/rolling-patch.yml \
  -e sophia_environment=vm -e sophia_confirm_environment=vm -e "sophia_kubeconfig=$RUN_DIR/no-kubeconfig" \
  -e rolling_patch_without_cluster=true -e rolling_patch_update_cache=false | tee "$RUN_DIR/play.log"
play_s=$(( $(date +%s) - play_start ))

export VM_PATCH=1 VM_SSH_PORT=$PORT VM_SSH_KEY=$KEY VM_KNOWN_HOSTS="$RUN_DIR/known_hosts" \
  VM_BOOT_BEFORE=$boot_before VM_PLAY_OUTPUT="$RUN_DIR/play.log"
python -m pytest -p no:cacheprovider -q -rA tests/vm/test_rolling_patch_reboot.py
log "vm rolling patch test passed in $(elapsed): the playbook with its reboot took ${play_s}s"
