#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_filesystem_info
short_description: List Lambda Cloud shared file systems
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Lists the shared file systems of the account (C(GET /file-systems)). Never changes anything.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
  - sophia.platform.lambda_cloud.info_module
options:
  name:
    description: Only the file system with this name.
    type: str
  region:
    description: Only file systems in this region.
    type: str
"""

EXAMPLES = r"""
- name: File systems in us-east-3
  sophia.platform.lambda_filesystem_info:
    region: us-east-3
  register: fs
"""

RETURN = r"""
filesystems:
  description: The file systems, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id.
      type: str
    name:
      description: Name.
      type: str
    region:
      description: Region name.
      type: str
    mount_point:
      description: Default mount point.
      type: str
    is_in_use:
      description: Whether an instance mounts it.
      type: bool
    bytes_used:
      description: Approximate bytes used.
      type: int
  sample:
    - id: 398578a2336b49079e74043f0bd2cfe8
      name: sophia-prod-models
      region: us-east-3
      mount_point: /lambda/nfs/sophia-prod-models
      is_in_use: true
      bytes_used: 123456
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    filesystem_view as view,
    lambda_cloud_argument_spec,
)


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(name=dict(type="str"), region=dict(type="str")),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        filesystems = client.list_filesystems()
    except LambdaCloudError as exc:
        fail_from_error(module, exc)
    p = module.params
    out = [view(f) for f in filesystems if isinstance(f, dict)
           and (p["name"] is None or f.get("name") == p["name"])
           and (p["region"] is None or (f.get("region") or {}).get("name") == p["region"])]
    module.exit_json(changed=False, filesystems=sorted(out, key=lambda f: (f["name"] or "", f["id"] or "")))


if __name__ == "__main__":
    main()
