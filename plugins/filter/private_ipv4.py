# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: find a host's private interface and IPv4 address in its facts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: private_ipv4
author: Sophia platform team
version_added: 0.1.0
short_description: Find the private interface and IPv4 address in a host's facts
description:
  - Looks through the interfaces in C(ansible_facts) for an IPv4 address (primary or secondary)
    inside one of O(cidrs), skipping interfaces whose name starts with one of O(ignore).
    The default-route interface is looked at first, then the others in name order.
  - With O(interface) or O(address) given, that interface or address is used and only checked.
  - Returns a dict with C(interface), C(address) and C(reason); C(interface) is None when
    nothing matched, and C(reason) says why.
options:
  _input:
    description: The host's C(ansible_facts).
    type: dict
    required: true
  cidrs:
    description: Networks a private address must be in.
    type: list
    elements: str
    required: true
  interface:
    description: Interface to use instead of searching.
    type: str
    default: ""
  address:
    description: Address to use instead of searching.
    type: str
    default: ""
  ignore:
    description: Interface name prefixes to skip.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Export the private address
  ansible.builtin.set_fact:
    node: "{{ ansible_facts | sophia.platform.private_ipv4(cidrs=['10.0.0.0/8']) }}"
"""

RETURN = r"""
_value:
  description: C(interface), C(address) and C(reason).
  type: dict
"""

import ipaddress


def _ipv4_addresses(iface_facts):
    """All IPv4 addresses of one interface's facts, primary first."""
    found = []
    primary = iface_facts.get("ipv4") or {}
    if primary.get("address"):
        found.append(primary["address"])
    for secondary in iface_facts.get("ipv4_secondaries") or []:
        if secondary.get("address"):
            found.append(secondary["address"])
    return found


def private_ipv4(facts, cidrs, interface="", address="", ignore=None):
    networks = [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]
    ignore = tuple(ignore or ())
    names = [str(name) for name in facts.get("interfaces") or []]

    def facts_of(name):
        return facts.get(name.replace("-", "_").replace(".", "_").replace(":", "_")) or {}

    if interface:
        if interface not in names:
            return {"interface": None, "address": None, "reason": "interface %s does not exist" % interface}
        addresses = _ipv4_addresses(facts_of(interface))
        if not addresses:
            return {"interface": None, "address": None, "reason": "interface %s has no IPv4 address" % interface}
        chosen = address if address in addresses else addresses[0]
        if address and address != chosen:
            return {"interface": None, "address": None,
                    "reason": "address %s is not on interface %s" % (address, interface)}
        return {"interface": interface, "address": chosen, "reason": "given"}

    if address:
        for name in sorted(names):
            if address in _ipv4_addresses(facts_of(name)):
                return {"interface": name, "address": address, "reason": "given"}
        return {"interface": None, "address": None, "reason": "no interface has address %s" % address}

    default_iface = (facts.get("default_ipv4") or {}).get("interface")
    ordered = sorted(names, key=lambda name: (name != default_iface, name))
    for name in ordered:
        if name.startswith(ignore):
            continue
        for candidate in _ipv4_addresses(facts_of(name)):
            try:
                parsed = ipaddress.ip_address(candidate)
            except ValueError:
                continue
            if any(parsed in network for network in networks):
                return {"interface": name, "address": candidate, "reason": "found in %s" % ", ".join(cidrs)}
    return {"interface": None, "address": None,
            "reason": "no interface has an IPv4 address in %s" % ", ".join(cidrs)}


class FilterModule:
    def filters(self):
        return {"private_ipv4": private_ipv4}
