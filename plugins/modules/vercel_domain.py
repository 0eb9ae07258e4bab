#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_domain
short_description: Attach a domain to a Vercel project and report its verification state
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Attaches a domain to a Vercel project (optionally as a redirect to another of its domains), or detaches it.
  - Reports whether Vercel has verified the domain for the project and, when not, the verification challenges
    (for example a C(TXT) record) to publish. Vercel itself verifies the domain once DNS is right.
extends_documentation_fragment:
  - sophia.platform.vercel
  - sophia.platform.vercel.platform
attributes:
  check_mode:
    support: full
    description: Reports whether the domain would be attached, changed or detached.
  diff_mode:
    support: full
    description: Shows the domain's name and redirect before and after.
options:
  name:
    description: The domain, for example V(app.sophia-intel.ai).
    type: str
    required: true
  redirect:
    description: Another domain of the project that this one redirects to; unset or empty for none.
    type: str
  redirect_status_code:
    description: HTTP status of the redirect.
    type: int
    choices: [301, 302, 307, 308]
    default: 308
  state:
    description: Whether the domain should be attached to the project.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The frontend's names
  sophia.platform.vercel_domain:
    project: sophia-frontend
    team_id: team_exampleteamid
    name: "{{ item }}"
  loop: [sophia-intel.ai, app.sophia-intel.ai]
  register: frontend_domains

- name: www redirects to the apex
  sophia.platform.vercel_domain:
    project: sophia-frontend
    name: www.sophia-intel.ai
    redirect: sophia-intel.ai
"""

RETURN = r"""
domain:
  description: The project domain after the task (null when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Domain name.
      type: str
    apex_name:
      description: Its apex domain.
      type: str
    verified:
      description: Whether Vercel has verified the domain for this project.
      type: bool
    verification:
      description: What to publish for an unverified domain (type, domain, value, reason).
      type: list
      elements: dict
    redirect:
      description: Domain redirected to, or null.
      type: str
    redirect_status_code:
      description: Status of the redirect, or null.
      type: int
  sample:
    name: app.sophia-intel.ai
    apex_name: sophia-intel.ai
    verified: true
    verification: []
    redirect: null
    redirect_status_code: null
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import fail_from_error
from ansible_collections.sophia.platform.plugins.module_utils._vercel import (
    VercelError,
    client_from_module,
    vercel_argument_spec,
)

_DOMAIN = re.compile(r"^(?=.{1,253}$)((?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")


def view(domain):
    if not domain:
        return None
    return dict(
        name=domain.get("name"),
        apex_name=domain.get("apexName"),
        verified=bool(domain.get("verified")),
        verification=[dict(type=v.get("type"), domain=v.get("domain"), value=v.get("value"), reason=v.get("reason"))
                      for v in domain.get("verification") or [] if isinstance(v, dict)],
        redirect=domain.get("redirect") or None,
        redirect_status_code=domain.get("redirectStatusCode") if domain.get("redirect") else None,
    )


def diff_view(domain):
    if not domain:
        return {}
    return dict(name=domain.get("name"), redirect=domain.get("redirect") or None,
                redirect_status_code=domain.get("redirectStatusCode") if domain.get("redirect") else None)


def run(module, client):
    p = module.params
    name = p["name"].strip().lower().rstrip(".")
    redirect = (p["redirect"] or "").strip().lower().rstrip(".") or None
    client.get_project(p["project"])
    current = client.get_domain(p["project"], name)

    if p["state"] == "absent":
        if current and not module.check_mode:
            client.remove_domain(p["project"], name)
        return _result(module, bool(current), current, None)

    want = dict(redirect=redirect, redirectStatusCode=p["redirect_status_code"] if redirect else None)
    if current is None:
        body = dict(name=name)
        if redirect:
            body.update(want)
        after = dict(name=name, verified=False, verification=[], **want)
        if not module.check_mode:
            after = client.add_domain(p["project"], body)
        return _result(module, True, None, after)

    now = dict(redirect=current.get("redirect") or None,
               redirectStatusCode=current.get("redirectStatusCode") if current.get("redirect") else None)
    changed = now != want
    after = dict(current, **want) if changed else current
    if changed and not module.check_mode:
        after = client.edit_domain(p["project"], name, want)
    return _result(module, changed, current, after)


def _result(module, changed, before, after):
    result = dict(changed=changed, domain=view(after))
    if module._diff:
        result["diff"] = dict(before=diff_view(before), after=diff_view(after))
    if after and not after.get("verified") and not module.check_mode:
        module.warn("%s is attached but not verified yet; publish: %s" % (after.get("name"), "; ".join(
            "%s %s %s" % (v.get("type"), v.get("domain"), v.get("value")) for v in after.get("verification") or [])
            or "the DNS records Vercel shows for it"))
    return result


def main():
    module = AnsibleModule(
        argument_spec=vercel_argument_spec(
            name=dict(type="str", required=True),
            redirect=dict(type="str"),
            redirect_status_code=dict(type="int", default=308, choices=[301, 302, 307, 308]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    for option in ("name", "redirect"):
        value = (module.params[option] or "").strip().lower().rstrip(".")
        if (option == "name" or value) and not _DOMAIN.match(value):
            module.fail_json(msg="%s %r is not a domain name such as app.example.com." % (option, module.params[option]))
    client = client_from_module(module)
    try:
        result = run(module, client)
    except VercelError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
