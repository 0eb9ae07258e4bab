#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_instance_info
short_description: List Lambda Cloud instances
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Lists the instances of the account (one C(GET /instances) call), filtered on this side by
    id, name, name prefix, region, status and tags.
  - Never changes anything.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
  - sophia.platform.lambda_cloud.info_module
options:
  id:
    description: Only the instance with this id.
    type: str
  name:
    description: Only instances with exactly this name.
    type: str
  name_prefix:
    description: Only instances whose name starts with this.
    type: str
  region:
    description: Only instances in this region.
    type: str
  statuses:
    description: Only instances with one of these statuses. Empty means all.
    type: list
    elements: str
    default: []
  tags:
    description: Only instances carrying all of these tags.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The prod cluster's instances
  sophia.platform.lambda_instance_info:
    tags:
      cluster: prod
  register: prod

- name: Show their addresses
  ansible.builtin.debug:
    msg: "{{ prod.instances | items2dict(key_name='name', value_name='ip') }}"
"""

RETURN = r"""
instances:
  description: The matching instances, sorted by name (the Jupyter token is never returned).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Instance id.
      type: str
    name:
      description: Instance name.
      type: str
    status:
      description: Status.
      type: str
    ip:
      description: Public IPv4 address (absent while booting).
      type: str
    private_ip:
      description: Private IPv4 address (absent while booting).
      type: str
    hostname:
      description: Hostname.
      type: str
    region:
      description: Region name.
      type: str
    instance_type:
      description: Instance type name.
      type: str
    architecture:
      description: CPU architecture derived from the type.
      type: str
    gpu_count:
      description: GPUs of the type.
      type: int
    ssh_key_names:
      description: SSH keys installed at launch.
      type: list
      elements: str
    file_system_names:
      description: File systems mounted.
      type: list
      elements: str
    firewall_ruleset_ids:
      description: Firewall rulesets attached.
      type: list
      elements: str
    tags:
      description: Tags as a dictionary.
      type: dict
  sample:
    - id: 0920582c7ff041399e34823a0be62549
      name: sophia-master-01
      status: active
      ip: 198.51.100.2
      private_ip: 10.0.2.100
      hostname: sophia-master-01
      region: us-east-3
      instance_type: gpu_1x_gh200
      architecture: aarch64
      gpu_count: 1
      ssh_key_names: [sophia-prod]
      file_system_names: []
      firewall_ruleset_ids: []
      tags: {cluster: prod, role: server}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    instance_summary,
    lambda_cloud_argument_spec,
)


def select(instances, params):
    wanted_tags = {str(k): str(v) for k, v in (params["tags"] or {}).items()}
    out = []
    for inst in instances:
        if not isinstance(inst, dict) or not inst.get("id"):
            continue
        summary = instance_summary(inst)
        if params["id"] and summary["id"] != params["id"]:
            continue
        if params["name"] is not None and summary["name"] != params["name"]:
            continue
        if params["name_prefix"] and not str(summary["name"] or "").startswith(params["name_prefix"]):
            continue
        if params["region"] and summary["region"] != params["region"]:
            continue
        if params["statuses"] and summary["status"] not in params["statuses"]:
            continue
        if any(summary["tags"].get(k) != v for k, v in wanted_tags.items()):
            continue
        out.append(summary)
    return sorted(out, key=lambda s: (s["name"] or "", s["id"]))


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(
            id=dict(type="str"),
            name=dict(type="str"),
            name_prefix=dict(type="str"),
            region=dict(type="str"),
            statuses=dict(type="list", elements="str", default=[]),
            tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        instances = client.list_instances()
    except LambdaCloudError as exc:
        fail_from_error(module, exc)
    module.exit_json(changed=False, instances=select(instances, module.params))


if __name__ == "__main__":
    main()
