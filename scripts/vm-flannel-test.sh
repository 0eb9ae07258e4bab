#!/usr/bin/env bash
# Flannel's host side on a real VXLAN device in a real (emulated) kernel:
# boots the Debian 12 guest of scripts/vm-test.sh (scripts/vm-lib.sh, same base
# image), applies the kernel settings VXLAN needs (hardening's sysctl and module
# parts) and sophia.platform.flannel, then tests/vm/test_flannel_live.py makes
# flannel.1 by hand the way Flannel does (no K3s here) and checks the udev
# offload rule, a re-created device, the MTU, and the role's checks of a live
# device and of the kernel; after a reboot, test_flannel_after_reboot.py checks
# a new flannel.1 gets offload off again. Not part of `make test`.
#
# A VXLAN device made in a container would load a module into this machine's
# own kernel: that is why this is a VM. Traffic goes only to the guest, through
# qemu's user network forwarded to 127.0.0.1.
#   scripts/vm-flannel-test.sh            build the image if needed, run the test
#   scripts/vm-flannel-test.sh --rebuild  rebuild the image first
#   VM_KEEP=1 scripts/vm-flannel-test.sh  leave the guest running afterwards
source "$(dirname "$0")/lib.sh"
# Its own port and run directory: it can run beside scripts/vm-test.sh.
VM_PORT="${VM_FLANNEL_SSH_PORT:-2298}"
VM_RUN_NAME=run-flannel
source "$(dirname "$0")/vm-lib.sh"

activate_venv
cd "$REPO_ROOT"
ensure_image "${1:-}"
start_vm
boot_before=$(vm_ssh cat /proc/sys/kernel/random/boot_id)
boot_s=$(elapsed)
log "guest up ($boot_s); applying hardening's sysctls and modules, then the flannel role"

write_inventory
play_start=$(date +%s)
ansible-playbook -i "$RUN_DIR/inventory.yml" tests/vm/flannel.yml \
  --tags hardening_sysctl,hardening_modules,flannel | tee "$RUN_DIR/play.log"
play_first=$(( $(date +%s) - play_start ))

export VM_FLANNEL=1 VM_SSH_PORT=$PORT VM_SSH_KEY=$KEY VM_KNOWN_HOSTS="$RUN_DIR/known_hosts" \
  VM_INVENTORY="$RUN_DIR/inventory.yml" VM_BOOT_BEFORE=$boot_before VM_PLAY_LOG="$RUN_DIR/plays.log"
checks_start=$(date +%s)
python -m pytest -p no:cacheprovider -q -rA tests/vm/test_flannel_live.py
checks_live=$(( $(date +%s) - checks_start ))

log "rebooting the guest ($(elapsed))"
reboot_vm
log "guest rebooted in ${reboot_s}s; making flannel.1 again"
python -m pytest -p no:cacheprovider -q -rA tests/vm/test_flannel_after_reboot.py
log "vm flannel test passed in $(elapsed): boot ${boot_s}, first apply ${play_first}s," \
  "live checks ${checks_live}s, reboot ${reboot_s}s"
