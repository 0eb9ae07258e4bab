#!/bin/sh
# Test double of a K3s node's pod network and kube-proxy (molecule firewall
# scenario only): a "pod" in network namespace pod-double at 10.42.0.5 behind a
# link named cni0 (10.42.0.1), and a nat table of its own that DNATs a NodePort
# (30080) and an ingress port (443) to that pod, as kube-proxy and servicelb do,
# and masquerades what the pod sends outside the pod network, as Flannel does
# (a pod reaching another node's address arrives from this node's address).
set -eu
if ! ip netns list | grep -qw pod-double; then
  ip netns add pod-double
  ip link add cni0 type veth peer name eth0 netns pod-double
  ip addr add 10.42.0.1/24 dev cni0
  ip link set cni0 up
  ip netns exec pod-double ip addr add 10.42.0.5/24 dev eth0
  ip netns exec pod-double ip link set eth0 up
  ip netns exec pod-double ip link set lo up
  ip netns exec pod-double ip route add default via 10.42.0.1
fi
sysctl -q -w net.ipv4.ip_forward=1
nft -f - <<'NFT'
table ip kube_proxy_double
delete table ip kube_proxy_double
table ip kube_proxy_double {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 30080 dnat to 10.42.0.5:8080
		tcp dport 443 dnat to 10.42.0.5:8443
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 oifname "eth0" masquerade
	}
}
NFT
