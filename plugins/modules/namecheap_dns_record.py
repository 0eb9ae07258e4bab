#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: namecheap_dns_record
short_description: Manage the DNS records of one name and type at Namecheap, keeping every other record
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Makes the records of one host name and type of a domain hosted on Namecheap's DNS hold exactly the given
    values (several values give several records, for example round-robin C(A) records), or removes them.
  - Namecheap's C(setHosts) replaces every record of the domain at once and resets the mail settings unless
    they are sent too. This module reads the current records (C(getHosts)), replaces only the records of
    O(name) and O(type), sends back every other record unchanged together with the current C(EmailType), and
    writes only when something differs. A record it was not asked about is never lost.
  - Every value is checked for its type (IPv4 for C(A), IPv6 for C(AAAA), a host name for C(CNAME), C(MX),
    C(NS), C(ALIAS)) before any API call.
extends_documentation_fragment:
  - sophia.platform.namecheap
  - sophia.platform.namecheap.platform
attributes:
  check_mode:
    support: full
    description: Reports whether the records would change, without writing.
  diff_mode:
    support: full
    description: Shows the records of O(name) and O(type), and the mail setting, before and after.
options:
  domain:
    description: The registered domain, for example V(sophia-intel.ai).
    type: str
    required: true
  name:
    description:
      - Host name relative to O(domain); V(@) is the domain itself. For example V(api) or V(api.staging).
    type: str
    required: true
  type:
    description: Record type.
    type: str
    required: true
    choices: [A, AAAA, ALIAS, CAA, CNAME, MX, MXE, NS, TXT, URL, URL301, FRAME]
  values:
    description:
      - The complete list of values for O(name) and O(type). Required with O(state=present).
      - With O(state=absent), only records with these values are removed; without it, all records of
        O(name) and O(type).
    type: list
    elements: str
  ttl:
    description: Time to live in seconds, 60 to 60000.
    type: int
    default: 1800
  mx_pref:
    description: Preference of C(MX) records.
    type: int
    default: 10
  email_type:
    description:
      - The domain's mail setting (C(EmailType)). Unset, the current one is kept (and sent back, so that
        C(setHosts) does not reset it).
    type: str
    choices: [MX, MXE, FWD, OX]
  state:
    description: Whether the records should exist.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The API name points at the ingress nodes
  sophia.platform.namecheap_dns_record:
    domain: sophia-intel.ai
    name: api.staging
    type: A
    values: [198.51.100.10, 198.51.100.11]
    ttl: 300

- name: A frontend name served by Vercel
  sophia.platform.namecheap_dns_record:
    domain: sophia-intel.ai
    name: app
    type: CNAME
    values: [cname.vercel-dns.com]

- name: Remove an old name
  sophia.platform.namecheap_dns_record:
    domain: sophia-intel.ai
    name: old
    type: A
    state: absent
"""

RETURN = r"""
records:
  description: The records of O(name) and O(type) after the task.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Host name relative to the domain.
      type: str
    type:
      description: Record type.
      type: str
    value:
      description: Address or target.
      type: str
    ttl:
      description: Time to live.
      type: int
    mx_pref:
      description: MX preference (MX records only).
      type: int
  sample:
    - {name: api, type: A, value: 198.51.100.10, ttl: 300}
email_type:
  description: The domain's mail setting after the task (empty when none).
  returned: always
  type: str
  sample: MX
other_records:
  description: How many records of other names or types the domain has; all were sent back unchanged.
  returned: always
  type: int
  sample: 7
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import fail_from_error
from ansible_collections.sophia.platform.plugins.module_utils._namecheap import (
    RECORD_TYPES,
    EMAIL_TYPES,
    TTL_MAX,
    TTL_MIN,
    NamecheapError,
    check_host_name,
    check_value,
    client_from_module,
    namecheap_argument_spec,
    record_key,
    record_view,
    split_domain,
)


def validate(module):
    p = module.params
    try:
        split_domain(p["domain"])
    except NamecheapError as exc:
        module.fail_json(msg=exc.message)
    try:
        name = check_host_name(p["name"])
    except ValueError as exc:
        module.fail_json(msg="name: %s." % exc)
    if not TTL_MIN <= p["ttl"] <= TTL_MAX:
        module.fail_json(msg="ttl %d is out of range: Namecheap takes %d to %d seconds." % (p["ttl"], TTL_MIN, TTL_MAX))
    if not 0 <= p["mx_pref"] <= 65535:
        module.fail_json(msg="mx_pref %d is out of range 0-65535." % p["mx_pref"])
    values = None
    if p["values"] is not None:
        values, errors = [], []
        for number, value in enumerate(p["values"], start=1):
            try:
                canonical = check_value(p["type"], value)
            except ValueError as exc:
                errors.append("value %d: %s" % (number, exc))
                continue
            if canonical not in values:
                values.append(canonical)
        if errors:
            module.fail_json(msg="Invalid record values: " + "; ".join(errors) + ".")
    if p["state"] == "present":
        if not values:
            module.fail_json(msg="values must list at least one value with state=present.")
        if p["type"] == "CNAME" and len(values) > 1:
            module.fail_json(msg="A CNAME record has one value; got %d." % len(values))
    return name, values


def run(module, client):
    p = module.params
    name, values = validate(module)
    rtype = p["type"]
    zone = client.get_hosts(p["domain"])
    if not zone["is_using_our_dns"]:
        module.fail_json(msg="%s does not use Namecheap's DNS servers: its host records cannot be managed here."
                             % p["domain"], code="client/not-namecheap-dns")

    def ours(host):
        return host["name"].lower() == name and host["type"] == rtype

    current = [h for h in zone["hosts"] if ours(h)]
    others = [h for h in zone["hosts"] if not ours(h)]
    if p["state"] == "present":
        wanted = [dict(name=name, type=rtype, address=v, ttl=p["ttl"], mx_pref=p["mx_pref"] if rtype == "MX" else 10)
                  for v in values]
    elif values is None:
        wanted = []
    else:
        gone = set(values)
        wanted = [h for h in current if record_key(h)[2] not in gone]

    email_before = zone["email_type"]
    email_after = p["email_type"] or email_before
    changed = (sorted(record_key(h) for h in current) != sorted(record_key(h) for h in wanted)
               or email_after != email_before)
    if changed and not module.check_mode:
        # Every other record goes back exactly as read, and the mail setting with them.
        client.set_hosts(p["domain"], others + wanted, email_type=email_after)
    after = wanted if changed else current
    result = dict(changed=changed, records=[record_view(h) for h in after], email_type=email_after,
                  other_records=len(others))
    if module._diff:
        result["diff"] = dict(
            before=dict(records=[record_view(h) for h in current], email_type=email_before),
            after=dict(records=[record_view(h) for h in after], email_type=email_after),
        )
    return result


def main():
    module = AnsibleModule(
        argument_spec=namecheap_argument_spec(
            domain=dict(type="str", required=True),
            name=dict(type="str", required=True),
            type=dict(type="str", required=True, choices=list(RECORD_TYPES)),
            values=dict(type="list", elements="str"),
            ttl=dict(type="int", default=1800),
            mx_pref=dict(type="int", default=10),
            email_type=dict(type="str", choices=list(EMAIL_TYPES)),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
        required_if=[("state", "present", ("values",))],
    )
    validate(module)
    client = client_from_module(module)
    try:
        result = run(module, client)
    except NamecheapError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
