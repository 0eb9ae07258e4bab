# shellcheck shell=bash
# The qemu guest the kernel-level tests run in (scripts/vm-test.sh,
# scripts/vm-flannel-test.sh): image build, boot loop, SSH, reboot. Sourced after
# lib.sh, never run. A caller may set VM_PORT and VM_RUN_NAME first so that two
# tests can boot side by side from the one base image.
#
# Traffic goes only to the guest, through qemu's user network forwarded to
# 127.0.0.1. The base image is built once into .cache/vm/ (about 2.5 minutes);
# every run boots a fresh copy-on-write overlay of it.

VM_DIR="$CACHE_DIR/vm"
BASE="$VM_DIR/base.raw"
RECIPE_SUM_FILE="$VM_DIR/recipe.sha256"
PORT="${VM_PORT:-${VM_SSH_PORT:-2299}}"
RUN_DIR="$VM_DIR/${VM_RUN_NAME:-run}"
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

# The image is rebuilt when build_image's text changes (this file's copy).
recipe_sum() { sed -n '/^build_image()/,/^}/p' "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16; }

# Builds the base image when missing, asked for (--rebuild) or out of date.
ensure_image() {
  [ "${1:-}" = "--rebuild" ] && rm -f "$BASE"
  if [ ! -f "$BASE" ] || [ "$(cat "$RECIPE_SUM_FILE" 2>/dev/null)" != "$(recipe_sum)" ]; then
    build_image
    # build_image's RETURN trap (removing its scratch rootfs) stays set after it
    # returns and would fire again here, with its local variable gone.
    trap - RETURN
  fi
}

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

# A fresh overlay of the base image, booted; stopped on exit unless VM_KEEP is set.
start_vm() {
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  qemu-img create -q -f qcow2 -F raw -b "$BASE" "$RUN_DIR/disk.qcow2"
  trap '[ -n "${VM_KEEP:-}" ] || stop_vm' EXIT
  boot_loop &
  LOOP_PID=$!
  log "booting the guest (TCG, 127.0.0.1:$PORT)"
  wait_ssh 300
}

# Reboots the guest and waits for a new boot_id (SSH answering is not enough:
# the old boot may still answer). Sets reboot_s.
reboot_vm() {
  local before now deadline start
  before=$(vm_ssh cat /proc/sys/kernel/random/boot_id)
  start=$(date +%s)
  vm_ssh sudo systemctl reboot || true
  sleep 5
  deadline=$(( $(date +%s) + 300 ))
  until now=$(vm_ssh cat /proc/sys/kernel/random/boot_id 2>/dev/null) && [ "$now" != "$before" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the guest did not come back after the reboot"
    sleep 3
  done
  reboot_s=$(( $(date +%s) - start ))
}

# The guest as Ansible's one host, in the groups the K3s layer's roles expect.
write_inventory() {
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
}
