#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_ssh_key
short_description: Manage SSH keys of a Lambda Cloud account
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Adds an SSH public key to the account by name, or removes it.
  - Without O(public_key), Lambda generates a key pair. The API shows its private key
    once only. It is written to O(private_key_path) with mode C(0600) when that is set
    (and then not returned), otherwise returned as RV(private_key).
  - A result that carries RV(private_key) is marked C(no_log) by the module's action plugin,
    so no callback, C(-v) output or log shows it (the task reads as if C(no_log) were set),
    while C(register) still receives the key. Printing the registered variable prints the key.
  - Keys are installed on instances at launch only; removing or replacing a key does not
    change running instances.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
attributes:
  check_mode:
    support: full
    description: Reports whether the key would be added, replaced or removed; writes no file.
  diff_mode:
    support: full
    description: Shows the name and public key before and after.
options:
  name:
    description: Name of the key (1 to 64 characters), unique in the account.
    type: str
    required: true
  public_key:
    description:
      - The public key, in OpenSSH format (C(ssh-ed25519 AAAA... comment)).
      - Keys are compared on type and key material; the comment is ignored.
    type: str
  state:
    description: Whether the key should exist.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Replace (remove and add) a key of the same name whose public key differs.
      - Without it, such a difference is an error.
    type: bool
    default: false
  private_key_path:
    description:
      - Where to write a private key Lambda generates (only when O(public_key) is not set).
      - The file is created with mode C(0600) and must not exist yet; its directory must.
    type: path
"""

EXAMPLES = r"""
- name: Add the operators' key
  sophia.platform.lambda_ssh_key:
    name: sophia-prod
    public_key: "{{ lookup('ansible.builtin.file', '~/.ssh/sophia_prod.pub') }}"

- name: Let Lambda generate a key pair and keep the private key in a 0600 file
  sophia.platform.lambda_ssh_key:
    name: sophia-ci
    private_key_path: ~/.ssh/sophia_ci

- name: Let Lambda generate a key pair and hand the private key to the next task
  sophia.platform.lambda_ssh_key:
    name: sophia-ci-2
  register: generated   # generated.private_key; the task output itself is censored

- name: Remove a key
  sophia.platform.lambda_ssh_key:
    name: old-laptop
    state: absent
"""

RETURN = r"""
ssh_key:
  description: The key after the task (null when absent).
  returned: always
  type: dict
  contains:
    id:
      description: Key id.
      type: str
    name:
      description: Key name.
      type: str
    public_key:
      description: Public key.
      type: str
  sample:
    id: ddf9a910ceb744a0bb95242cbba6cb50
    name: sophia-prod
    public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICN+lJwsONkwrdsSnQsu1ydUkIuIg5oOC+Eslvmtt60T ops
private_key:
  description:
    - The private key Lambda generated. Shown by the API this one time only.
    - Returned only when a key was generated and O(private_key_path) was not set.
    - The whole task result is then censored in output and logs; use C(register) to keep it.
  returned: when generated without private_key_path
  type: str
private_key_path:
  description: The file the generated private key was written to.
  returned: when generated with private_key_path
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    lambda_cloud_argument_spec,
)


def key_material(public_key):
    """Type and base64 material of an OpenSSH public key, without the comment."""
    parts = (public_key or "").split()
    return tuple(parts[:2])


def public_view(key):
    if not key:
        return None
    return dict(id=key.get("id"), name=key.get("name"), public_key=key.get("public_key"))


def check_private_key_path(module, path):
    if os.path.lexists(path):
        module.fail_json(msg="private_key_path %s already exists; it is never overwritten." % path)
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        module.fail_json(msg="The directory of private_key_path, %s, does not exist or is not writable." % parent)


def write_private_key(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data if data.endswith("\n") else data + "\n")
    os.chmod(path, 0o600)


def run(module, client):
    p = module.params
    name = p["name"]
    if not 1 <= len(name) <= 64:
        module.fail_json(msg="name must be 1 to 64 characters long.")
    if p["public_key"] is not None and (len(p["public_key"]) > 4096 or len(key_material(p["public_key"])) < 2):
        module.fail_json(msg="public_key is not an OpenSSH public key (type and key material) of at most 4096 characters.")
    if p["private_key_path"] and p["public_key"]:
        module.warn("private_key_path is ignored: a public_key was given, so no key pair is generated.")

    matches = [k for k in client.list_ssh_keys() if k.get("name") == name]
    if len(matches) > 1:
        module.warn("The account has %d SSH keys named %s; the first is used." % (len(matches), name))
    current = matches[0] if matches else None
    result = dict(changed=False, ssh_key=public_view(current))
    after = current

    if p["state"] == "absent":
        if current:
            result["changed"] = True
            after = None
            if not module.check_mode:
                for key in matches:
                    client.delete_ssh_key(key["id"])
    else:
        replace = False
        if current and p["public_key"] and key_material(current.get("public_key")) != key_material(p["public_key"]):
            if not p["force"]:
                module.fail_json(msg="SSH key %s exists with another public key; set force=true to replace it "
                                     "(running instances keep the old key)." % name)
            replace = True
        if not current or replace:
            generate = not p["public_key"]
            if generate and p["private_key_path"]:
                check_private_key_path(module, p["private_key_path"])
            result["changed"] = True
            after = dict(id=None, name=name, public_key=p["public_key"] or "(generated by Lambda)")
            if not module.check_mode:
                if replace:
                    client.delete_ssh_key(current["id"])
                created = client.add_ssh_key(name, p["public_key"])
                after = created
                private = created.get("private_key") if generate else None
                if private and p["private_key_path"]:
                    write_private_key(p["private_key_path"], private)
                    result["private_key_path"] = p["private_key_path"]
                elif private:
                    result["private_key"] = private
    result["ssh_key"] = public_view(after)
    if module._diff:
        result["diff"] = dict(before=public_view(current) or {}, after=public_view(after) or {})
    return result


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(
            name=dict(type="str", required=True),
            public_key=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
            private_key_path=dict(type="path", no_log=False),
        ),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        result = run(module, client)
    except LambdaCloudError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
