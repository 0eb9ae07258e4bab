#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: namecheap_dns_record_info
short_description: Read the DNS records of a domain at Namecheap
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Lists the host records of a domain hosted on Namecheap's DNS (C(getHosts)) and its mail setting,
    optionally only those of one host name or type. Changes nothing.
extends_documentation_fragment:
  - sophia.platform.namecheap
  - sophia.platform.namecheap.platform
  - sophia.platform.namecheap.info_module
options:
  domain:
    description: The registered domain, for example V(sophia-intel.ai).
    type: str
    required: true
  name:
    description: Only records of this host name (relative to the domain, V(@) for the domain itself).
    type: str
  type:
    description: Only records of this type.
    type: str
    choices: [A, AAAA, ALIAS, CAA, CNAME, MX, MXE, NS, TXT, URL, URL301, FRAME]
"""

EXAMPLES = r"""
- name: Read the records of the API name
  sophia.platform.namecheap_dns_record_info:
    domain: sophia-intel.ai
    name: api
  register: api_records
"""

RETURN = r"""
records:
  description: The records, in the order Namecheap lists them.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: api, type: A, value: 198.51.100.10, ttl: 300}
email_type:
  description: The domain's mail setting (C(EmailType)); empty when none.
  returned: always
  type: str
  sample: MX
is_using_our_dns:
  description: Whether the domain uses Namecheap's DNS servers (only then are host records served).
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import fail_from_error
from ansible_collections.sophia.platform.plugins.module_utils._namecheap import (
    RECORD_TYPES,
    NamecheapError,
    check_host_name,
    client_from_module,
    namecheap_argument_spec,
    record_view,
)


def main():
    module = AnsibleModule(
        argument_spec=namecheap_argument_spec(
            domain=dict(type="str", required=True),
            name=dict(type="str"),
            type=dict(type="str", choices=list(RECORD_TYPES)),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = None
    if p["name"] is not None:
        try:
            name = check_host_name(p["name"])
        except ValueError as exc:
            module.fail_json(msg="name: %s." % exc)
    client = client_from_module(module)
    try:
        zone = client.get_hosts(p["domain"])
    except NamecheapError as exc:
        fail_from_error(module, exc)
    records = [record_view(h) for h in zone["hosts"]
               if (name is None or h["name"].lower() == name) and (p["type"] is None or h["type"] == p["type"])]
    module.exit_json(changed=False, records=records, email_type=zone["email_type"],
                     is_using_our_dns=zone["is_using_our_dns"])


if __name__ == "__main__":
    main()
