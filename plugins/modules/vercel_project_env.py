#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_project_env
short_description: Set, update and remove a Vercel project's environment variable for given targets
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Makes one environment variable of a Vercel project exist for exactly the given targets
    (C(production), C(preview), C(development)) with the given type and value, or removes it.
  - A variable is identified by O(key) and its set of targets; Vercel allows the same key several times
    with different targets (one value per environment). A variable of the same key whose targets overlap
    the given ones without being equal is not changed; the task fails naming its targets instead.
  - Variables bound to a Git branch are left alone.
  - Vercel returns the value of C(plain) and C(encrypted) variables when asked to decrypt them (the token
    needs the right to); such values are compared and written only when they differ. The value of a
    C(sensitive) variable can never be read back, so whether it is rewritten is decided by O(update).
extends_documentation_fragment:
  - sophia.platform.vercel
  - sophia.platform.vercel.platform
attributes:
  check_mode:
    support: full
    description: Reports whether the variable would be created, updated or removed.
  diff_mode:
    support: full
    description:
      - Shows key, type and targets before and after. The values of C(plain) variables are shown (a new one
        given as O(value) is masked by Ansible, O(value) being C(no_log); use O(plain_value)). Other values
        appear as C(<hidden>); a C(sensitive) value never appears.
options:
  key:
    description: Name of the variable, for example V(VITE_API_URL).
    type: str
    required: true
  value:
    description:
      - The value, treated as a secret (never logged, masked in results).
      - With O(state=present), this or O(plain_value) is required.
      - Ansible masks this string wherever it appears in the task's output, also inside other words (a value
        V(prod) turns C(production) into C(********uction)); use O(plain_value) for values that are not secret.
    type: str
  plain_value:
    description:
      - The value of a variable that is not secret (O(type=plain) only, for example a public URL), shown in
        results and diffs.
    type: str
  type:
    description:
      - V(encrypted) (readable in the dashboard), V(sensitive) (never readable again), V(plain).
    type: str
    choices: [encrypted, sensitive, plain]
    default: encrypted
  targets:
    description:
      - The environments the variable applies to. Required with O(state=present).
      - With O(state=absent), the variable with exactly these targets is removed; unset, every variable of
        O(key) (not bound to a Git branch) is removed.
    type: list
    elements: str
    choices: [production, preview, development]
  update:
    description:
      - What to do with an existing variable whose current value cannot be read back (C(sensitive), or a
        token that may not decrypt).
      - V(on_create) sets the value only when the variable is created and then leaves it (re-runs report no
        change; a changed value in the inventory is not applied).
      - V(always) writes the value on every run (always reports a change).
      - Values that can be read are compared either way.
    type: str
    choices: [on_create, always]
    default: on_create
  state:
    description: Whether the variable should exist.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The frontend's API address in production
  sophia.platform.vercel_project_env:
    project: sophia-frontend
    team_id: team_exampleteamid
    key: VITE_API_URL
    plain_value: https://api.sophia-intel.ai
    type: plain
    targets: [production]

- name: A secret the build needs, rewritten on every run since it cannot be read back
  sophia.platform.vercel_project_env:
    project: sophia-frontend
    key: SENTRY_AUTH_TOKEN
    value: "{{ vault_sentry_auth_token }}"
    type: sensitive
    targets: [production, preview]
    update: always
  no_log: true
"""

RETURN = r"""
env:
  description: The variable after the task (null when absent). The value only for C(plain) variables.
  returned: always
  type: dict
  contains:
    id:
      description: Vercel's id of the variable (null when only planned in check mode).
      type: str
    key:
      description: Name.
      type: str
    type:
      description: Type.
      type: str
    targets:
      description: Targets, sorted.
      type: list
      elements: str
    value:
      description: Value (C(plain) variables only).
      type: str
  sample: {id: abc123, key: VITE_ENVIRONMENT, type: plain, targets: [production], value: prod}
value_compared:
  description: Whether the current value could be read and compared (false for C(sensitive) variables).
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._edge_http import fail_from_error
from ansible_collections.sophia.platform.plugins.module_utils._vercel import (
    ENV_TYPES,
    TARGETS,
    VercelError,
    client_from_module,
    vercel_argument_spec,
)

HIDDEN = "<hidden>"


def view(env, value=None):
    if not env:
        return None
    out = dict(id=env.get("id"), key=env.get("key"), type=env.get("type"), targets=sorted(_targets(env)))
    if env.get("type") == "plain":
        out["value"] = env.get("value") if value is None else value
    return out


def diff_view(env, value_known, value=None):
    if not env:
        return {}
    out = dict(key=env.get("key"), type=env.get("type"), targets=sorted(_targets(env)))
    if env.get("type") == "plain" and value_known:
        out["value"] = env.get("value") if value is None else value
    elif env.get("type") != "sensitive":
        out["value"] = HIDDEN
    return out


def _targets(env):
    target = env.get("target") or []
    return set([target] if isinstance(target, str) else target)


def readable(env):
    """True when the listing carries the variable's real value."""
    if env.get("type") == "sensitive":
        return False
    return env.get("type") == "plain" or env.get("decrypted") is True


def run(module, client):
    p = dict(module.params)
    if p["plain_value"] is not None:
        p["value"] = p["plain_value"]
    targets = set(p["targets"] or [])
    client.get_project(p["project"])
    same_key = [e for e in client.list_env(p["project"]) if e.get("key") == p["key"] and not e.get("gitBranch")]

    if p["state"] == "absent":
        if targets:
            doomed = [e for e in same_key if _targets(e) == targets]
            _refuse_overlaps(module, [e for e in same_key if e not in doomed and _targets(e) & targets])
        else:
            doomed = same_key
        if doomed and not module.check_mode:
            for env in doomed:
                client.delete_env(p["project"], env["id"])
        result = dict(changed=bool(doomed), env=None, value_compared=False)
        if module._diff:
            result["diff"] = dict(before=[diff_view(e, readable(e)) for e in doomed], after=[])
        return result

    overlapping = [e for e in same_key if _targets(e) & targets]
    current = overlapping[0] if len(overlapping) == 1 and _targets(overlapping[0]) == targets else None
    if current is None:
        _refuse_overlaps(module, overlapping)
    body = dict(key=p["key"], value=p["value"], type=p["type"], target=sorted(targets))

    if current is None:
        after = dict(id=None, key=p["key"], type=p["type"], target=sorted(targets), value=p["value"])
        if not module.check_mode:
            after = client.create_env(p["project"], body) or after
        result = dict(changed=True, env=view(after, p["value"]), value_compared=False)
        if module._diff:
            result["diff"] = dict(before={}, after=diff_view(after, True, p["value"]))
        return result

    known = readable(current)
    if known:
        value_changed = current.get("value") != p["value"]
    else:
        value_changed = p["update"] == "always"
    changed = value_changed or current.get("type") != p["type"]
    after = dict(current, type=p["type"], value=p["value"] if known or value_changed else current.get("value"))
    if changed and not module.check_mode:
        patched = client.edit_env(p["project"], current["id"], body)
        after = dict(after, **{k: v for k, v in (patched or {}).items() if k in ("id", "key", "type", "target")})
    result = dict(changed=changed, env=view(after, p["value"] if known or value_changed else None),
                  value_compared=known)
    if module._diff:
        before = diff_view(current, known)
        after_view = diff_view(after, known, p["value"])
        if value_changed and "value" in after_view and after_view["value"] == HIDDEN:
            after_view["value"] = "<hidden, changed>"
        result["diff"] = dict(before=before, after=after_view)
    return result


def _refuse_overlaps(module, envs):
    if envs:
        module.fail_json(msg="%s already exists for targets %s, which overlap the requested ones without being "
                             "equal; remove or change that variable first (this module does not move targets "
                             "between variables)."
                             % (module.params["key"], "; ".join(",".join(sorted(_targets(e))) for e in envs)))


def main():
    module = AnsibleModule(
        argument_spec=vercel_argument_spec(
            key=dict(type="str", required=True, no_log=False),
            value=dict(type="str", no_log=True),
            plain_value=dict(type="str"),
            type=dict(type="str", default="encrypted", choices=list(ENV_TYPES)),
            targets=dict(type="list", elements="str", choices=list(TARGETS)),
            update=dict(type="str", default="on_create", choices=["on_create", "always"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
        required_if=[("state", "present", ("value", "plain_value"), True), ("state", "present", ("targets",))],
        mutually_exclusive=[("value", "plain_value")],
    )
    p = module.params
    if p["plain_value"] is not None and p["type"] != "plain":
        module.fail_json(msg="plain_value is for type=plain; give the value of a %s variable as value." % p["type"])
    if p["state"] == "present" and not p["targets"]:
        module.fail_json(msg="targets must list at least one of %s." % ", ".join(TARGETS))
    if not p["key"] or not all(c.isalnum() or c == "_" for c in p["key"]) or p["key"][0].isdigit():
        module.fail_json(msg="key %r is not a valid variable name (letters, digits, _; not starting with a digit)."
                             % p["key"])
    client = client_from_module(module)
    try:
        result = run(module, client)
    except VercelError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
