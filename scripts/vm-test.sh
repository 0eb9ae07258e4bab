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
# every run boots a fresh copy-on-write overlay of it.
#   scripts/vm-test.sh            build the image if needed, run the test
#   scripts/vm-test.sh --rebuild  rebuild the image first
#   scripts/vm-test.sh --build    only build the image
#   VM_KEEP=1 scripts/vm-test.sh  leave the guest running afterwards
source "$(dirname "$0")/lib.sh"

VM_DIR="$CACHE_DIR/vm"
BASE="$VM_DIR/base.raw"
RECIPE_SUM_FILE="$VM_DIR/recipe.sha256"
PORT="${VM_SSH_PORT:-2299}"
RUN_DIR="$VM_DIR/run"
KEY="$VM_DIR/id_ed25519"
START=$(date +%s)

elapsed() { echo "$(( $(date +%s) - START ))s"; }

build_image() {
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: apt-get install qemu-system-x86 qemu-utils"
  command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install debootstrap"
  mkdir -p "$VM_DIR"
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C sophia-vm-test -f "$KEY"
  local sources=/etc/apt/sources.list.d/debian.sources mirror rootfs
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources" 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /var/tmp/sophia-vm-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  log "debootstrap of the guest from $mirror (about 2.5 minutes)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,dbus,procps,openssh-server,linux-image-amd64,ifupdown,isc-dhcp-client,netbase,nftables,auditd,kmod,apparmor \
    bookworm "$rootfs" "$mirror" >/dev/null
  echo vm-kernel > "$rootfs/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 vm-kernel\n' > "$rootfs/etc/hosts"
  echo '/dev/vda / ext4 defaults 0 1' > "$rootfs/etc/fstab"
  printf 'auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n' > "$rootfs/etc/network/interfaces"
  rm -f "$rootfs/etc/apt/sources.list"
  [ -f "$sources" ] && cp "$sources" "$rootfs/etc/apt/sources.list.d/debian.sources"
  for f in /etc/apt/apt.conf.d/*; do
    if grep -qE 'Check-Valid-Until|Check-Date' "$f" 2>/dev/null; then
      grep -E 'Check-Valid-Until|Check-Date' "$f" > "$rootfs/etc/apt/apt.conf.d/99sophia-archive-dates"
    fi
  done
  # A cloud-like default user: key login, passwordless sudo.
  chroot "$rootfs" useradd --create-home --shell /bin/bash --groups sudo debian
  chroot "$rootfs" passwd --lock debian >/dev/null
  echo 'debian ALL=(ALL) NOPASSWD:ALL' > "$rootfs/etc/sudoers.d/90-cloud-init-users"
  chmod 0440 "$rootfs/etc/sudoers.d/90-cloud-init-users"
  install -d -m 0700 "$rootfs/home/debian/.ssh"
  install -m 0600 "$KEY.pub" "$rootfs/home/debian/.ssh/authorized_keys"
  chroot "$rootfs" chown -R debian:debian /home/debian/.ssh
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
  cp "$rootfs"/boot/vmlinuz-* "$VM_DIR/vmlinuz"
  cp "$rootfs"/boot/initrd.img-* "$VM_DIR/initrd.img"
  chroot "$rootfs" apt-get clean
  rm -f "$BASE"
  mkfs.ext4 -q -F -L root -d "$rootfs" "$BASE" 4G
  recipe_sum > "$RECIPE_SUM_FILE"
  log "guest image built ($(elapsed))"
}

recipe_sum() { sed -n '/^build_image()/,/^}/p' "$0" | sha256sum | cut -c1-16; }

stop_vm() {
  touch "$RUN_DIR/stop" 2>/dev/null || true
  if [ -f "$RUN_DIR/qemu.pid" ]; then
    kill "$(cat "$RUN_DIR/qemu.pid")" 2>/dev/null || true
  fi
  if [ -n "${LOOP_PID:-}" ]; then wait "$LOOP_PID" 2>/dev/null || true; fi
}

# qemu runs with -no-reboot: a reboot ends the process and this loop starts it
# again on the same disk (a reboot inside one TCG process makes the next boot
# several times slower). It stops when the stop file exists.
boot_loop() {
  while [ ! -f "$RUN_DIR/stop" ]; do
    qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -cpu max -m 2048 -no-reboot \
      -kernel "$VM_DIR/vmlinuz" -initrd "$VM_DIR/initrd.img" \
      -append "root=/dev/vda rw console=ttyS0 net.ifnames=0" \
      -drive "file=$RUN_DIR/disk.qcow2,if=virtio,format=qcow2" \
      -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22" -device virtio-net-pci,netdev=n0 \
      -display none -serial "file:$RUN_DIR/console-$(date +%s).log" -pidfile "$RUN_DIR/qemu.pid" \
      >> "$RUN_DIR/qemu.log" 2>&1 || true
    sleep 1
  done
}

vm_ssh() {
  ssh -i "$KEY" -p "$PORT" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=5 -o ControlPath=none \
    -o UserKnownHostsFile="$RUN_DIR/known_hosts" -o StrictHostKeyChecking=accept-new debian@127.0.0.1 "$@"
}

wait_ssh() {
  local deadline=$(( $(date +%s) + ${1:-300} ))
  until vm_ssh true 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the guest did not answer SSH in time (see $RUN_DIR/console-*.log)"
    sleep 3
  done
}

activate_venv
cd "$REPO_ROOT"
[ "${1:-}" = "--rebuild" ] && rm -f "$BASE"
if [ ! -f "$BASE" ] || [ "$(cat "$RECIPE_SUM_FILE" 2>/dev/null)" != "$(recipe_sum)" ]; then
  build_image
fi
[ "${1:-}" = "--build" ] && exit 0

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
qemu-img create -q -f qcow2 -F raw -b "$BASE" "$RUN_DIR/disk.qcow2"
trap '[ -n "${VM_KEEP:-}" ] || stop_vm' EXIT
boot_loop &
LOOP_PID=$!
log "booting the guest (TCG, 127.0.0.1:$PORT)"
wait_ssh 300
boot_before=$(vm_ssh cat /proc/sys/kernel/random/boot_id)
log "guest up ($(elapsed)); applying the kernel-level parts of hardening and the firewall"

cat > "$RUN_DIR/inventory.yml" <<INV
all:
  children:
    k3s_cluster:
      children:
        k3s_server:
          hosts:
            vm-kernel:
              ansible_host: 127.0.0.1
              ansible_port: $PORT
              ansible_user: debian
              ansible_ssh_private_key_file: $KEY
              ansible_ssh_common_args: -o UserKnownHostsFile=$RUN_DIR/known_hosts -o StrictHostKeyChecking=yes
              ansible_python_interpreter: /usr/bin/python3
              # What sophia.platform.common would export: the guest's own address.
              common_node_ip: 10.0.2.15
      vars:
        # qemu's user network: the controller comes in from its gateway.
        firewall_admin_cidrs: [10.0.2.2/32]
INV
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
reboot_start=$(date +%s)
vm_ssh sudo systemctl reboot || true
sleep 5
deadline=$(( $(date +%s) + 300 ))
until boot_now=$(vm_ssh cat /proc/sys/kernel/random/boot_id 2>/dev/null) && [ "$boot_now" != "$boot_before" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "the guest did not come back after the reboot"
  sleep 3
done
reboot_s=$(( $(date +%s) - reboot_start ))
log "guest rebooted in ${reboot_s}s; checking what is in force"

VM_SSH_PORT=$PORT VM_SSH_KEY=$KEY VM_KNOWN_HOSTS="$RUN_DIR/known_hosts" VM_BOOT_BEFORE=$boot_before \
  python -m pytest -p no:cacheprovider -q tests/vm
log "vm test passed in $(elapsed): first apply ${play_first}s, no-change re-run ${play_again}s, reboot ${reboot_s}s"
