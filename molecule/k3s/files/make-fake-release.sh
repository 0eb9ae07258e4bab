#!/usr/bin/env bash
# Build a FAKE K3s v1.34.3+k3s1 release (k3s-double as the binary, placeholder
# image tarballs, its own sha256 lists) in DIR/v1.34.3+k3s1/, named as the
# artifact manifest names the real files. MODE breaks it on purpose:
#   good       every file matches its list
#   wrong      the binaries differ from what the lists say
#   missing    the lists name binaries that are not there
#   truncated  the binaries are cut short after the lists were written
set -euo pipefail
dir=$1/v1.34.3+k3s1 mode=${2:-good}
double=$(dirname "$0")/k3s-double
mkdir -p "$dir"
cd "$dir"
for arch in amd64 arm64; do
  bin=k3s; [ "$arch" = arm64 ] && bin=k3s-arm64
  install -m 0755 "$double" "$bin"
  printf 'k3s-double placeholder airgap images (%s)\n' "$arch" > "k3s-airgap-images-$arch.tar.zst"
  sha256sum "$bin" "k3s-airgap-images-$arch.tar.zst" > "sha256sum-$arch.txt"
  case $mode in
    wrong) printf '# altered after the list was written\n' >> "$bin" ;;
    missing) rm "$bin" ;;
    truncated) head -c 200 "$bin" > "$bin.part" && mv "$bin.part" "$bin" ;;
  esac
done
