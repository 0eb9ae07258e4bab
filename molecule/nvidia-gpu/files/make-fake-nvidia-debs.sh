#!/bin/sh
# Builds and installs tiny, clearly labelled fake Debian packages named like a
# Lambda Stack NVIDIA driver and a kernel with its meta packages, so the role's
# dpkg holds act on real packages.
# Test harness for molecule/nvidia-gpu only.
set -eu
work=/var/tmp/fake-nvidia-debs
files=/usr/local/share/nvidia-smi-double
rm -rf "$work"
mkdir -p "$work"

build() { # name version depends [file-spec...]
  name=$1 version=$2 depends=$3
  shift 3
  dir="$work/$name"
  mkdir -p "$dir/DEBIAN"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: all"
    echo "Maintainer: sophia.platform molecule <nobody@example.invalid>"
    [ -n "$depends" ] && echo "Depends: $depends"
    echo "Description: TEST DOUBLE - not an NVIDIA package"
    echo " Empty stand-in built by molecule/nvidia-gpu/prepare.yml so that dpkg holds can be tested."
  } > "$dir/DEBIAN/control"
  for spec in "$@"; do
    src=${spec%%:*}
    dest=${spec#*:}
    mkdir -p "$dir$(dirname "$dest")"
    cp "$src" "$dir$dest"
  done
  dpkg-deb --root-owner-group --build "$dir" "$work/$name.deb" >/dev/null
}

build libnvidia-compute-550 550.127.05-0ubuntu1 ""
build nvidia-compute-utils-550 550.127.05-0ubuntu1 "" \
  "$files/nvidia-persistenced:/usr/bin/nvidia-persistenced" \
  "$files/nvidia-persistenced.service:/lib/systemd/system/nvidia-persistenced.service"
build nvidia-driver-550-open 550.127.05-0ubuntu1 "libnvidia-compute-550, nvidia-compute-utils-550"
build nvidia-container-toolkit 1.17.8-1 ""
# The running kernel's packages as a Lambda host has them (the container runs
# this machine's kernel, so its release names them), two levels of meta
# packages above them, and an older kernel that must not be held.
kernel=$(uname -r)
build "linux-image-$kernel" 1.0-double ""
build "linux-headers-$kernel" 1.0-double ""
build linux-image-nvidia-64k-double 1.0-double "linux-image-$kernel"
build linux-nvidia-64k-double 1.0-double "linux-image-nvidia-64k-double, linux-headers-$kernel"
build linux-image-0.0.0-1-double 1.0-double ""
dpkg -i "$work"/libnvidia-compute-550.deb "$work"/nvidia-compute-utils-550.deb \
  "$work"/nvidia-driver-550-open.deb "$work"/nvidia-container-toolkit.deb \
  "$work"/linux-*.deb >/dev/null
systemctl daemon-reload
