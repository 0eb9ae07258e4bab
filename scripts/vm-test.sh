#!/usr/bin/env bash
# Kernel-level test of the host layer in a real (emulated) machine: boots a
# Debian 12 guest under qemu (TCG: these machines cannot use KVM), applies only
# the kernel-level parts of sophia.platform.hardening (tag hardening_kernel:
# sysctl, modules, auditd) and sophia.platform.firewall over SSH, reboots the
# guest, and checks with pytest (tests/vm/) that kernel parameters, disabled and
# required modules, auditd rules and the firewall are in force after the reboot.
#
# Traffic goes only to the guest, through qemu's user network forwarded to
# 127.0.0.1. The base image is built once into .cache/vm/ (about 2.5 minutes);
# every run boots a fresh copy-on-write overlay of it (scripts/vm-lib.sh).
#   scripts/vm-test.sh            build the image if needed, run the test
#   scripts/vm-test.sh --rebuild  rebuild the image first
#   scripts/vm-test.sh --build    only build the image
#   VM_KEEP=1 scripts/vm-test.sh  leave the guest running afterwards
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm-lib.sh"

activate_venv
cd "$REPO_ROOT"
ensure_image "${1:-}"
[ "${1:-}" = "--build" ] && exit 0

start_vm
boot_before=$(vm_ssh cat /proc/sys/kernel/random/boot_id)
log "guest up ($(elapsed)); applying the kernel-level parts of hardening and the firewall"

write_inventory
play_start=$(date +%s)
ansible-playbook -i "$RUN_DIR/inventory.yml" tests/vm/kernel.yml --tags hardening_kernel,firewall \
  | tee "$RUN_DIR/play.log"
play_first=$(( $(date +%s) - play_start ))
play_start=$(date +%s)
ansible-playbook -i "$RUN_DIR/inventory.yml" tests/vm/kernel.yml --tags hardening_kernel,firewall \
  | tee "$RUN_DIR/play-again.log"
play_again=$(( $(date +%s) - play_start ))
grep -qE 'vm-kernel +: ok=[0-9]+ +changed=0 ' "$RUN_DIR/play-again.log" \
  || die "the second run changed something (see $RUN_DIR/play-again.log)"

log "rebooting the guest ($(elapsed))"
reboot_vm
log "guest rebooted in ${reboot_s}s; checking what is in force"

VM_SSH_PORT=$PORT VM_SSH_KEY=$KEY VM_KNOWN_HOSTS="$RUN_DIR/known_hosts" VM_BOOT_BEFORE=$boot_before \
  python -m pytest -p no:cacheprovider -q tests/vm/test_after_reboot.py
log "vm test passed in $(elapsed): first apply ${play_first}s, no-change re-run ${play_again}s, reboot ${reboot_s}s"
