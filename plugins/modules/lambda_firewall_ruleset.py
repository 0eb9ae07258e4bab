#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_firewall_ruleset
short_description: Manage Lambda Cloud firewall rulesets and the global ruleset
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Makes a named firewall ruleset of a region hold exactly the given inbound rules, or
    removes it; or sets the rules of the account's global ruleset (O(global_ruleset=true)),
    which applies to every instance in every region.
  - The API replaces a ruleset's rules as a whole. This module compares the current rules with
    the wanted ones (order does not matter; bare addresses count as C(/32)) and writes only
    when they differ.
  - Every rule is checked (protocol, port range, IPv4 CIDR, description length) before any
    API call; one bad rule stops the task with its number and the problem.
  - A named ruleset can be attached to instances only when they are launched (see
    M(sophia.platform.lambda_instance) option C(firewall_rulesets)); its rules can be changed
    at any time.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
attributes:
  check_mode:
    support: full
    description: Reports whether the ruleset would be created, updated or removed.
  diff_mode:
    support: full
    description: Shows the rules before and after.
options:
  name:
    description: Name of the ruleset (at most 64 characters), unique within its region.
    type: str
  global_ruleset:
    description: Manage the account's global ruleset instead of a named one.
    type: bool
    default: false
  region:
    description:
      - Region of the named ruleset. Required to create one.
    type: str
  state:
    description:
      - Whether the named ruleset should exist. The global ruleset always exists; set its
        O(rules) to V([]) to empty it.
    type: str
    choices: [present, absent]
    default: present
  rules:
    description:
      - The complete list of inbound rules. Required with O(state=present).
      - Anything not listed is removed from the ruleset.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: Protocol.
        type: str
        required: true
        choices: [tcp, udp, icmp, all]
      port_range:
        description:
          - V([min, max]) (inclusive), or V([port]) for one port. Required except for V(icmp),
            where it is not allowed.
        type: list
        elements: int
      source_network:
        description: IPv4 network in CIDR notation (V(203.0.113.0/24)); a bare address means C(/32). V(0.0.0.0/0) is anyone.
        type: str
        required: true
      description:
        description: What the rule is for (at most 128 characters).
        type: str
        default: ""
"""

EXAMPLES = r"""
- name: Perimeter of the prod cluster
  sophia.platform.lambda_firewall_ruleset:
    name: sophia-prod-perimeter
    region: us-east-3
    rules:
      - protocol: tcp
        port_range: [22, 22]
        source_network: 203.0.113.0/24
        description: SSH from the admin network
      - protocol: tcp
        port_range: [6443, 6443]
        source_network: 203.0.113.0/24
        description: K3s API from the admin network
      - protocol: tcp
        port_range: [443, 443]
        source_network: 0.0.0.0/0
        description: HTTPS

- name: Empty the global ruleset (the per-cluster rulesets decide)
  sophia.platform.lambda_firewall_ruleset:
    global_ruleset: true
    rules: []

- name: Remove a ruleset no instance uses any more
  sophia.platform.lambda_firewall_ruleset:
    name: old-perimeter
    region: us-east-3
    state: absent
"""

RETURN = r"""
firewall_ruleset:
  description: The ruleset after the task (null when absent).
  returned: always
  type: dict
  contains:
    id:
      description: Ruleset id (V(global) for the global ruleset).
      type: str
    name:
      description: Name.
      type: str
    region:
      description: Region name (not for the global ruleset).
      type: str
    rules:
      description: The rules.
      type: list
      elements: dict
    instance_ids:
      description: Instances the ruleset is attached to (not for the global ruleset).
      type: list
      elements: str
  sample:
    id: c4d291f47f9d436fa39f58493ce3b50d
    name: sophia-prod-perimeter
    region: us-east-3
    rules:
      - protocol: tcp
        port_range: [22, 22]
        source_network: 203.0.113.0/24
        description: SSH from the admin network
    instance_ids: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    lambda_cloud_argument_spec,
    normalize_rules,
    rules_equal,
)


def view(ruleset):
    if not ruleset:
        return None
    out = dict(id=ruleset.get("id"), name=ruleset.get("name"), rules=list(ruleset.get("rules") or []))
    if ruleset.get("id") != "global":
        out["region"] = (ruleset.get("region") or {}).get("name")
        out["instance_ids"] = list(ruleset.get("instance_ids") or [])
    return out


def run(module, client):
    p = module.params
    rules = None
    if p["state"] == "present":
        if p["rules"] is None:
            module.fail_json(msg="rules is required with state=present (use [] for no rules).")
        rules, errors = normalize_rules(p["rules"])
        if errors:
            module.fail_json(msg="Invalid firewall rules: " + "; ".join(errors))
    if p["name"] is not None and not 1 <= len(p["name"]) <= 64:
        module.fail_json(msg="name must be 1 to 64 characters long.")

    if p["global_ruleset"]:
        if p["state"] == "absent":
            module.fail_json(msg="The global ruleset cannot be removed; set rules: [] to empty it.")
        current = client.get_global_firewall_ruleset()
        changed = not rules_equal(current.get("rules"), rules)
        after = dict(current, rules=rules) if changed else current
        if changed and not module.check_mode:
            after = client.update_global_firewall_ruleset(rules)
        return _result(module, changed, current, after)

    if p["state"] == "present" and not p["region"]:
        module.fail_json(msg="region is required for a named ruleset with state=present.")
    if p["state"] == "present":
        regions = [r.get("name") for r in client.list_regions()]
        if p["region"] not in regions:
            module.fail_json(msg="Unknown region %r (regions: %s)." % (p["region"], ", ".join(sorted(regions))))
    matches = [r for r in client.list_firewall_rulesets()
               if r.get("name") == p["name"] and (not p["region"] or (r.get("region") or {}).get("name") == p["region"])]
    if len(matches) > 1:
        module.fail_json(msg="%d firewall rulesets are named %s%s; set region or remove the duplicates."
                             % (len(matches), p["name"], " in " + p["region"] if p["region"] else ""))
    current = matches[0] if matches else None

    if p["state"] == "absent":
        if not current:
            return _result(module, False, None, None)
        if not module.check_mode:
            client.delete_firewall_ruleset(current["id"])
        return _result(module, True, current, None)

    if current is None:
        after = dict(id=None, name=p["name"], region={"name": p["region"]}, rules=rules, instance_ids=[])
        if not module.check_mode:
            after = client.create_firewall_ruleset(p["name"], p["region"], rules)
        return _result(module, True, None, after)
    changed = not rules_equal(current.get("rules"), rules)
    after = dict(current, rules=rules) if changed else current
    if changed and not module.check_mode:
        after = client.update_firewall_ruleset(current["id"], rules=rules)
    return _result(module, changed, current, after)


def _result(module, changed, before, after):
    result = dict(changed=changed, firewall_ruleset=view(after))
    if module._diff:
        result["diff"] = dict(before=view(before) or {}, after=view(after) or {})
    return result


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(
            name=dict(type="str"),
            global_ruleset=dict(type="bool", default=False),
            region=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            rules=dict(type="list", elements="dict", options=dict(
                protocol=dict(type="str", required=True, choices=["tcp", "udp", "icmp", "all"]),
                port_range=dict(type="list", elements="int"),
                source_network=dict(type="str", required=True),
                description=dict(type="str", default=""),
            )),
        ),
        supports_check_mode=True,
        mutually_exclusive=[("name", "global_ruleset")],
        required_if=[("global_ruleset", False, ("name",))],
    )
    client = client_from_module(module)
    try:
        result = run(module, client)
    except LambdaCloudError as exc:
        if exc.code == "firewall-rulesets/firewall-ruleset-in-use":
            fail_from_error(module, exc, hint="Terminate the instances using the ruleset first; "
                                              "rulesets cannot be detached from running instances.")
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
