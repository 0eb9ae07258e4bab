#!/usr/bin/env bash
# The local lab: three privileged systemd containers named like the production
# nodes, on their own podman network with a fixed subnet, reached over SSH as the
# image's default user, exactly as Ansible reaches a fresh Lambda host.
#   lab.sh up        start (or reuse) the hosts; idempotent
#   lab.sh converge  run site.yml -i inventories/lab, then print what was configured
#   lab.sh status    list the hosts
#   lab.sh down      remove the hosts, the network and the lab's keys
source "$(dirname "$0")/lib.sh"

KEY="$LAB_DIR/id_ed25519"
KNOWN_HOSTS="$LAB_DIR/known_hosts"
LABEL=org.sophia.lab=1

lab_up() {
  podman image exists "$HOST_IMAGE" || die "no image $HOST_IMAGE: run 'make image' first"
  mkdir -p "$LAB_DIR" && chmod 0700 "$LAB_DIR"
  if [ ! -f "$KEY" ]; then
    log "generating the lab's SSH key ($KEY)"
    ssh-keygen -q -t ed25519 -N '' -C sophia-lab -f "$KEY"
  fi
  if ! podman network exists "$LAB_NETWORK"; then
    log "creating network $LAB_NETWORK ($LAB_SUBNET)"
    podman network create --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" --label "$LABEL" "$LAB_NETWORK" >/dev/null
  fi
  local entry name addr
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    if podman container exists "$name"; then
      [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || podman start "$name" >/dev/null
      log "$name ($addr) running"
    else
      log "starting $name ($addr)"
      # --no-hosts: /etc/hosts is the host's own file, as on a VM, so the common
      # role manages it. The hostname starts as the image's "localhost", like a
      # cloud host before provisioning names it.
      podman run -d --name "$name" --hostname localhost --label "$LABEL" \
        --network "$LAB_NETWORK" --ip "$addr" --no-hosts \
        --privileged --systemd=always \
        "$HOST_IMAGE" /sbin/init >/dev/null
    fi
  done
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    prepare_host "$name"
  done
  : > "$KNOWN_HOSTS.new"
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    # Host keys are read out of band (like a cloud console), so SSH host key
    # checking stays on for the lab.
    podman exec "$name" sh -c 'cat /etc/ssh/ssh_host_*_key.pub' \
      | awk -v n="$name" -v a="$addr" '{print n "," a " " $1 " " $2}' >> "$KNOWN_HOSTS.new"
  done
  mv "$KNOWN_HOSTS.new" "$KNOWN_HOSTS"
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*} addr=${entry#*:}
    ssh_ok "$addr" || die "$name: SSH as $LAB_BOOTSTRAP_USER@$addr does not answer"
  done
  log "lab up: ${LAB_HOSTS[*]}"
}

# Wait for systemd, then make the container behave like a VM: its own
# /etc/hostname (podman bind-mounts one that cannot be replaced) and the lab
# key for the default user. Safe to repeat.
prepare_host() {
  local name=$1 state i
  for i in $(seq 1 60); do
    state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 1
  done
  case "$state" in running|degraded) ;; *) die "$name: systemd did not come up ($state)" ;; esac
  podman exec -i "$name" sh -c '
    if mountpoint -q /etc/hostname; then umount /etc/hostname; systemctl stop systemd-hostnamed 2>/dev/null || true; fi
    home=$(getent passwd '"$LAB_BOOTSTRAP_USER"' | cut -d: -f6)
    install -d -m 0700 -o '"$LAB_BOOTSTRAP_USER"' -g '"$LAB_BOOTSTRAP_USER"' "$home/.ssh"
    key="$(cat)"
    grep -qxF "$key" "$home/.ssh/authorized_keys" 2>/dev/null || echo "$key" >> "$home/.ssh/authorized_keys"
    chown '"$LAB_BOOTSTRAP_USER"': "$home/.ssh/authorized_keys"; chmod 0600 "$home/.ssh/authorized_keys"
    systemctl is-active -q ssh || systemctl restart ssh' < "$KEY.pub"
}

ssh_ok() {
  local addr=$1 i
  for i in $(seq 1 30); do
    ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
      -o BatchMode=yes -o ConnectTimeout=3 "$LAB_BOOTSTRAP_USER@$addr" true 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

lab_converge() {
  activate_venv
  [ -f "$KNOWN_HOSTS" ] || die "the lab is not up: run 'make lab-up' first"
  cd "$REPO_ROOT"
  log "ansible-playbook -i inventories/lab site.yml"
  ansible-playbook -i inventories/lab site.yml "$@"
  log "what the lab runs now"
  ansible-playbook -i inventories/lab playbooks/report.yml
}

lab_status() {
  podman ps -a --filter label="$LABEL" --format '{{.Names}}\t{{.Status}}\t{{.Networks}}'
}

lab_down() {
  local entry name
  for entry in "${LAB_HOSTS[@]}"; do
    name=${entry%%:*}
    if podman container exists "$name"; then log "removing $name"; podman rm -f -t 5 "$name" >/dev/null; fi
  done
  if podman network exists "$LAB_NETWORK"; then podman network rm "$LAB_NETWORK" >/dev/null; fi
  rm -rf "$LAB_DIR"
  log "lab removed (the image $HOST_IMAGE stays; 'podman rmi $HOST_IMAGE' removes it)"
}

case "${1:-}" in
  up) lab_up ;;
  converge) shift; lab_converge "$@" ;;
  status) lab_status ;;
  down) lab_down ;;
  *) die "usage: $0 up|converge|status|down" ;;
esac
