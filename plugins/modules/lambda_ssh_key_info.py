#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_ssh_key_info
short_description: List the SSH keys of a Lambda Cloud account
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Lists the SSH public keys of the account (C(GET /ssh-keys)). Never changes anything.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
  - sophia.platform.lambda_cloud.info_module
options:
  name:
    description: Only the key with this name.
    type: str
"""

EXAMPLES = r"""
- name: Is the prod key there?
  sophia.platform.lambda_ssh_key_info:
    name: sophia-prod
  register: key

- name: Fail early without it
  ansible.builtin.assert:
    that: key.ssh_keys | length == 1
"""

RETURN = r"""
ssh_keys:
  description: The keys, sorted by name.
  returned: always
  type: list
  elements: dict
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
    - id: ddf9a910ceb744a0bb95242cbba6cb50
      name: sophia-prod
      public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICN+lJwsONkwrdsSnQsu1ydUkIuIg5oOC+Eslvmtt60T ops
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    lambda_cloud_argument_spec,
)


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(name=dict(type="str")),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        keys = client.list_ssh_keys()
    except LambdaCloudError as exc:
        fail_from_error(module, exc)
    name = module.params["name"]
    out = [dict(id=k.get("id"), name=k.get("name"), public_key=k.get("public_key"))
           for k in keys if isinstance(k, dict) and (name is None or k.get("name") == name)]
    module.exit_json(changed=False, ssh_keys=sorted(out, key=lambda k: (k["name"] or "", k["id"] or "")))


if __name__ == "__main__":
    main()
