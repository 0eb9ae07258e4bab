#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_filesystem
short_description: Manage Lambda Cloud shared file systems
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Creates a shared (NFS) file system in a region, or deletes it.
  - File systems are billed while they exist and can be mounted only when an instance is
    launched (M(sophia.platform.lambda_instance) options C(file_system_names) and
    C(file_system_mounts)); there is no API to attach one to a running instance.
  - Deleting a file system that is mounted fails with the API code
    C(filesystems/filesystem-in-use); terminate the instances using it first.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
attributes:
  check_mode:
    support: full
    description: Reports whether the file system would be created or deleted.
  diff_mode:
    support: full
    description: Shows the file system before and after.
options:
  name:
    description: Name; starts with a letter, then letters, digits and dashes, at most 60 characters.
    type: str
    required: true
  region:
    description: Region. Required to create.
    type: str
  state:
    description: Whether the file system should exist.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Shared model cache for the prod cluster
  sophia.platform.lambda_filesystem:
    name: sophia-prod-models
    region: us-east-3

- name: Delete it (fails while an instance mounts it)
  sophia.platform.lambda_filesystem:
    name: sophia-prod-models
    state: absent
"""

RETURN = r"""
filesystem:
  description: The file system after the task (null when absent).
  returned: always
  type: dict
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
      description: Default mount point on instances.
      type: str
    is_in_use:
      description: Whether an instance mounts it.
      type: bool
    bytes_used:
      description: Approximate bytes used (updated every few hours).
      type: int
  sample:
    id: 398578a2336b49079e74043f0bd2cfe8
    name: sophia-prod-models
    region: us-east-3
    mount_point: /lambda/nfs/sophia-prod-models
    is_in_use: false
    bytes_used: 0
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    filesystem_view as view,
    lambda_cloud_argument_spec,
)

NAME_RE = re.compile(r"^[a-zA-Z]+[0-9a-zA-Z-]*$")


def run(module, client):
    p = module.params
    if not NAME_RE.match(p["name"]) or len(p["name"]) > 60:
        module.fail_json(msg="name %r must start with a letter, contain only letters, digits and dashes, "
                             "and be at most 60 characters." % p["name"])
    current = next((f for f in client.list_filesystems() if f.get("name") == p["name"]), None)
    changed = False
    after = current
    if p["state"] == "absent":
        if current:
            changed = True
            after = None
            if current.get("is_in_use"):
                module.warn("File system %s is in use; the API will refuse to delete it." % p["name"])
            if not module.check_mode:
                client.delete_filesystem(current["id"])
    else:
        if current:
            have = (current.get("region") or {}).get("name")
            if p["region"] and have != p["region"]:
                module.fail_json(msg="File system %s exists in %s, not %s; file systems cannot move between regions."
                                     % (p["name"], have, p["region"]))
        else:
            if not p["region"]:
                module.fail_json(msg="region is required to create file system %s." % p["name"])
            regions = [r.get("name") for r in client.list_regions()]
            if p["region"] not in regions:
                module.fail_json(msg="Unknown region %r (regions: %s)." % (p["region"], ", ".join(sorted(regions))))
            changed = True
            after = dict(id=None, name=p["name"], region={"name": p["region"]},
                         mount_point="/lambda/nfs/%s" % p["name"], is_in_use=False, bytes_used=0)
            if not module.check_mode:
                after = client.create_filesystem(p["name"], p["region"])
    result = dict(changed=changed, filesystem=view(after))
    if module._diff:
        result["diff"] = dict(before=view(current) or {}, after=view(after) or {})
    return result


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(
            name=dict(type="str", required=True),
            region=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        result = run(module, client)
    except LambdaCloudError as exc:
        if exc.code == "filesystems/filesystem-in-use":
            fail_from_error(module, exc, hint="Terminate the instances that mount the file system, then run again.")
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
