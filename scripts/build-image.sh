#!/usr/bin/env bash
# Builds the local Debian 12 host image that the lab and molecule run, with
# debootstrap (no container registry is reachable). It looks like a fresh cloud
# host: systemd as PID 1, sshd, sudo, python3, and a default user with
# passwordless sudo and no password, as Lambda's images have `ubuntu`.
# Skips the build when the image exists and this script has not changed.
source "$(dirname "$0")/lib.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

# Of the recipe's content only: sha256sum's own lines name the files, so a clone
# elsewhere would rebuild an image that is current.
recipe_sum=$(cat "$0" "$REPO_ROOT/scripts/lib.sh" | sha256sum | cut -c1-16)
if [ "$force" -eq 0 ] && podman image exists "$HOST_IMAGE"; then
  have=$(podman image inspect --format '{{ index .Labels "org.sophia.recipe" }}' "$HOST_IMAGE" 2>/dev/null || true)
  if [ "$have" = "$recipe_sum" ]; then
    log "host image $HOST_IMAGE is up to date"
    exit 0
  fi
fi

# The mirror this machine already uses: the only Debian archive reachable here.
sources=/etc/apt/sources.list.d/debian.sources
mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources" 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/sophia-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

log "debootstrap bookworm from $mirror (about a minute)"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,openssh-server,ca-certificates,netbase,iputils-ping,less,kmod \
  bookworm "$rootfs" "$mirror" >/dev/null

log "configuring the image"
# apt inside the host uses the same archive configuration as this machine.
rm -f "$rootfs/etc/apt/sources.list"
if [ -f "$sources" ]; then cp "$sources" "$rootfs/etc/apt/sources.list.d/debian.sources"; fi
for f in /etc/apt/apt.conf.d/*; do
  # Only settings about archive validity; proxies and the like stay host-local.
  if grep -qE 'Check-Valid-Until|Check-Date' "$f" 2>/dev/null; then
    grep -E 'Check-Valid-Until|Check-Date' "$f" > "$rootfs/etc/apt/apt.conf.d/99sophia-archive-dates"
  fi
done
# The default user, as a cloud image's first user: sudo without a password, no
# password to log in with, keys injected when a host is started.
chroot "$rootfs" useradd --create-home --shell /bin/bash --groups sudo "$LAB_BOOTSTRAP_USER"
chroot "$rootfs" passwd --lock "$LAB_BOOTSTRAP_USER" >/dev/null
echo "$LAB_BOOTSTRAP_USER ALL=(ALL) NOPASSWD:ALL" > "$rootfs/etc/sudoers.d/90-cloud-init-users"
chmod 0440 "$rootfs/etc/sudoers.d/90-cloud-init-users"
# Every host must get its own SSH host keys and machine id at first boot.
rm -f "$rootfs"/etc/ssh/ssh_host_*
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
cat > "$rootfs/etc/systemd/system/ssh.service.d/10-host-keys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
# Like a cloud image before first boot: the real name comes from provisioning.
echo localhost > "$rootfs/etc/hostname"
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
# Units that fail or make no sense inside a container (apt's timers stay, as on a
# cloud image: the common role configures what they do).
for unit in systemd-remount-fs.service getty@tty1.service e2scrub_reap.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/*
# No package lists, and old ones as far as apt's cache age goes: like a cloud
# image, the first apt run on a host must update.
touch -d 2000-01-01 "$rootfs/var/lib/apt/lists"

log "importing $HOST_IMAGE"
tar -C "$rootfs" -c . | podman import \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL=SIGRTMIN+3' \
  --change "LABEL org.sophia.recipe=$recipe_sum" \
  - "$HOST_IMAGE" >/dev/null
log "host image $HOST_IMAGE built"
