#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: lambda_instance_type_info
short_description: Lambda Cloud instance types and where they have capacity now
version_added: 0.1.0
author:
  - Sophia platform team (@sophia-platform)
description:
  - Lists instance types with their specs, price, CPU architecture and the regions that have
    capacity for them right now (C(GET /instance-types)).
  - Never changes anything.
extends_documentation_fragment:
  - sophia.platform.lambda_cloud
  - sophia.platform.lambda_cloud.platform
  - sophia.platform.lambda_cloud.info_module
options:
  names:
    description: Only these instance types. Empty means all.
    type: list
    elements: str
    default: []
  region:
    description: Only types with capacity in this region.
    type: str
  available_only:
    description: Only types with capacity in at least one region.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Where can a GH200 be launched now?
  sophia.platform.lambda_instance_type_info:
    names: [gpu_1x_gh200]
  register: gh200

- name: Stop early when there is no capacity in the region we use
  ansible.builtin.assert:
    that: "'us-east-3' in gh200.instance_types[0].regions_with_capacity"
    fail_msg: "No GH200 capacity in us-east-3; available in {{ gh200.instance_types[0].regions_with_capacity }}"
"""

RETURN = r"""
instance_types:
  description: The instance types, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Type name.
      type: str
    description:
      description: Description.
      type: str
    gpu_description:
      description: GPU model.
      type: str
    price_cents_per_hour:
      description: Price in US cents per hour.
      type: int
    architecture:
      description: CPU architecture derived from the name (V(aarch64) for Grace-based types).
      type: str
    specs:
      description: vcpus, memory_gib, storage_gib, gpus.
      type: dict
    regions_with_capacity:
      description: Names of the regions with capacity now.
      type: list
      elements: str
  sample:
    - name: gpu_1x_gh200
      description: 1x GH200 (96 GB)
      gpu_description: GH200 (96 GB)
      price_cents_per_hour: 229
      architecture: aarch64
      specs: {vcpus: 64, memory_gib: 432, storage_gib: 4096, gpus: 1}
      regions_with_capacity: [us-east-3]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import (
    LambdaCloudError,
    client_from_module,
    fail_from_error,
    instance_architecture,
    lambda_cloud_argument_spec,
)


def summarize(types, names=(), region=None, available_only=False):
    out = []
    for key, item in sorted((types or {}).items()):
        if not isinstance(item, dict):
            continue
        itype = item.get("instance_type") if isinstance(item.get("instance_type"), dict) else {}
        name = itype.get("name") or key
        regions = [r.get("name") for r in item.get("regions_with_capacity_available") or [] if isinstance(r, dict)]
        if names and name not in names:
            continue
        if region and region not in regions:
            continue
        if available_only and not regions:
            continue
        out.append(dict(
            name=name,
            description=itype.get("description"),
            gpu_description=itype.get("gpu_description"),
            price_cents_per_hour=itype.get("price_cents_per_hour"),
            architecture=instance_architecture(name),
            specs=itype.get("specs") or {},
            regions_with_capacity=regions,
        ))
    return out


def main():
    module = AnsibleModule(
        argument_spec=lambda_cloud_argument_spec(
            names=dict(type="list", elements="str", default=[]),
            region=dict(type="str"),
            available_only=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        types = client.list_instance_types()
    except LambdaCloudError as exc:
        fail_from_error(module, exc)
    p = module.params
    module.exit_json(changed=False, instance_types=summarize(types, p["names"], p["region"], p["available_only"]))


if __name__ == "__main__":
    main()
