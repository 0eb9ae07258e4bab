#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nvidia_gpu_facts
short_description: Gather facts about the NVIDIA GPUs of a host from nvidia-smi
version_added: 0.1.0
description:
  - Runs C(nvidia-smi -q -x) on the managed host and returns the driver and CUDA versions and, for each
    GPU, its name, UUID, PCI bus id, memory, persistence, compute and MIG modes, temperature, power draw and
    limit, active clock event (throttle) reasons, ECC error counts, retired pages or remapped rows and the
    processes using it.
  - Parses the XML document (and the CSV of C(--query-gpu=uuid,compute_cap)); never human-formatted text.
  - On a host without a GPU, without the driver, or where C(nvidia-smi) fails (for example a driver and
    library version mismatch after an upgrade), it returns C(gpu_count=0) and the reason instead of failing,
    unless O(require_gpu) or O(min_gpu_count) ask for GPUs.
author:
  - Sophia platform team (@sophia-platform)
options:
  nvidia_smi_path:
    description:
      - Path of the C(nvidia-smi) executable.
      - When not set, C(nvidia-smi) is looked up in E(PATH), C(/usr/bin) and C(/usr/local/bin).
    type: path
  require_gpu:
    description:
      - Fail when the host has no usable GPU, with the reason as the message.
    type: bool
    default: false
  min_gpu_count:
    description:
      - Fail when fewer GPUs than this are usable. V(0) asks for none.
    type: int
    default: 0
  pci_devices_path:
    description:
      - Directory of PCI devices in sysfs, read to list the NVIDIA GPUs the host has whether or not a
        driver is bound to them (returned as RV(ansible_facts.nvidia_gpu.pci_gpus)).
    type: path
    default: /sys/bus/pci/devices
  query_compute_capability:
    description:
      - Also run C(nvidia-smi --query-gpu=uuid,compute_cap --format=csv,noheader) to learn each GPU's
        compute capability, which the XML document does not carry. Drivers older than R510 do not know the
        field; the capability is then returned as V(null).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
notes:
  - Unit-tested on constructed documents in the format of C(nvsmi_device_v12.dtd), not on recordings from
    real hardware; see C(tests/data/nvidia-smi/README.md) in the collection.
seealso:
  - name: nvidia-smi documentation
    description: The reference for the fields this module returns.
    link: https://docs.nvidia.com/deploy/nvidia-smi/index.html
"""

EXAMPLES = r"""
- name: Read the GPUs of the host (no failure when there are none)
  sophia.platform.nvidia_gpu_facts:

- name: Require the one GH200 GPU of the host
  sophia.platform.nvidia_gpu_facts:
    min_gpu_count: 1

- name: Show the GPU memory
  ansible.builtin.debug:
    msg: "{{ ansible_facts.nvidia_gpu.gpus | map(attribute='memory_total_mib') | list }}"

- name: Stop when any GPU reports a problem (uncorrectable ECC errors, pending row remap, thermal slowdown)
  ansible.builtin.assert:
    that: ansible_facts.nvidia_gpu.problems | length == 0
    fail_msg: "{{ ansible_facts.nvidia_gpu.problems }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to C(ansible_facts).
  returned: always
  type: complex
  contains:
    nvidia_gpu:
      description: What nvidia-smi reports about the host.
      returned: always
      type: complex
      contains:
        available:
          description: Whether at least one GPU is usable.
          type: bool
          returned: always
          sample: true
        gpu_count:
          description: Number of usable GPUs (V(0) when nvidia-smi is missing or fails).
          type: int
          returned: always
          sample: 1
        reason:
          description: Why no GPU is usable; V(null) when GPUs were found.
          type: str
          returned: always
          sample: "nvidia-smi failed (exit code 18, NVML_ERROR_LIB_RM_VERSION_MISMATCH): Failed to initialize NVML: Driver/library version mismatch"
        nvml_error:
          description: The NVML error name matching nvidia-smi's exit code, when it failed.
          type: str
          returned: always
          sample: NVML_ERROR_LIB_RM_VERSION_MISMATCH
        nvidia_smi_path:
          description: The nvidia-smi that was run, V(null) when none was found.
          type: str
          returned: always
          sample: /usr/bin/nvidia-smi
        driver_version:
          description: Version of the loaded NVIDIA driver.
          type: str
          returned: always
          sample: "550.127.05"
        cuda_version:
          description: Highest CUDA version the driver supports.
          type: str
          returned: always
          sample: "12.4"
        pci_gpus:
          description:
            - NVIDIA display and 3D controllers found on the PCI bus, with the kernel driver bound to each
              (V(nvidia), V(nouveau), V(vfio-pci) or V(null)). A GPU here with C(gpu_count=0) means the
              driver is missing or broken.
          type: list
          elements: dict
          returned: always
          sample: [{address: "0009:01:00.0", device_id: "0x2342", driver: nvidia}]
        problems:
          description: Conditions that make a GPU unfit for work, each prefixed with the GPU's UUID.
          type: list
          elements: str
          returned: always
          sample: ["GPU-0a1b: 2 uncorrectable ECC errors since the driver loaded"]
        gpus:
          description: One entry per GPU, in nvidia-smi's order.
          type: list
          elements: dict
          returned: always
          sample:
            - index: 0
              name: NVIDIA GH200 480GB
              uuid: GPU-5f1c6a52-3e1a-4c3d-9d0b-6c7e2f1a9b11
              pci_bus_id: "00000009:01:00.0"
              architecture: Hopper
              compute_capability: "9.0"
              memory_total_mib: 97871
              memory_used_mib: 1
              memory_free_mib: 97280
              persistence_mode: true
              compute_mode: Default
              mig_mode_current: Disabled
              mig_mode_pending: Disabled
              temperature_c: 31
              power_draw_w: 88.53
              power_limit_w: 900.0
              clock_event_reasons: ["gpu_idle"]
              ecc:
                mode_current: Enabled
                volatile_total: {correctable: 0, uncorrectable: 0}
                aggregate_total: {correctable: 0, uncorrectable: 0}
              retired_pages: null
              remapped_rows: {correctable: 0, uncorrectable: 0, pending: false, failure: false}
              processes: []
              problems: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sophia.platform.plugins.module_utils._nvidia_smi import (
    NvidiaSmiParseError,
    describe_failure,
    parse_compute_caps,
    parse_xml,
    pci_gpus,
)


def _empty_facts(path, reason, nvml_error=None):
    return {
        "available": False,
        "gpu_count": 0,
        "reason": reason,
        "nvml_error": nvml_error,
        "nvidia_smi_path": path,
        "driver_version": None,
        "cuda_version": None,
        "problems": [],
        "gpus": [],
        "pci_gpus": [],
    }


def _read_file(path):
    with open(path) as handle:
        return handle.read()


def gather(module, path):
    """Run nvidia-smi at ``path`` and return the nvidia_gpu fact."""
    if path is None:
        return _empty_facts(None, "nvidia-smi was not found: the NVIDIA driver is not installed")

    rc, stdout, stderr = module.run_command([path, "-q", "-x"])
    if rc != 0:
        reason, nvml_error = describe_failure(rc, stdout, stderr)
        return _empty_facts(path, reason, nvml_error)

    try:
        parsed = parse_xml(stdout)
    except NvidiaSmiParseError as exc:
        module.fail_json(msg="could not read the output of %s -q -x: %s" % (path, exc))

    if module.params["query_compute_capability"] and parsed["gpus"]:
        rc, stdout, stderr = module.run_command([path, "--query-gpu=uuid,compute_cap", "--format=csv,noheader"])
        if rc == 0:
            caps = parse_compute_caps(stdout)
            for gpu in parsed["gpus"]:
                gpu["compute_capability"] = caps.get(gpu["uuid"])

    gpus = parsed["gpus"]
    facts = _empty_facts(path, None)
    facts.update({
        "available": bool(gpus),
        "gpu_count": len(gpus),
        "reason": None if gpus else "nvidia-smi reports no GPU",
        "driver_version": parsed["driver_version"],
        "cuda_version": parsed["cuda_version"],
        "problems": ["%s: %s" % (gpu["uuid"] or "GPU %d" % gpu["index"], problem)
                     for gpu in gpus for problem in gpu["problems"]],
        "gpus": gpus,
    })
    return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nvidia_smi_path=dict(type="path"),
            require_gpu=dict(type="bool", default=False),
            min_gpu_count=dict(type="int", default=0),
            pci_devices_path=dict(type="path", default="/sys/bus/pci/devices"),
            query_compute_capability=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if module.params["min_gpu_count"] < 0:
        module.fail_json(msg="min_gpu_count must be 0 or more, not %d" % module.params["min_gpu_count"])

    path = module.params["nvidia_smi_path"]
    if path is None:
        path = module.get_bin_path("nvidia-smi", opt_dirs=["/usr/bin", "/usr/local/bin"])
        facts = gather(module, path)
    elif not (os.path.isfile(path) and os.access(path, os.X_OK)):
        facts = _empty_facts(None, "%s is not an executable file: the NVIDIA driver is not installed" % path)
    else:
        facts = gather(module, path)
    facts["pci_gpus"] = pci_gpus(module.params["pci_devices_path"], os.listdir, _read_file, os.readlink)

    wanted = max(module.params["min_gpu_count"], 1 if module.params["require_gpu"] else 0)
    if facts["gpu_count"] < wanted:
        why = facts["reason"] or "only %d GPU(s) found" % facts["gpu_count"]
        module.fail_json(
            msg="%d GPU(s) required, %d usable: %s" % (wanted, facts["gpu_count"], why),
            ansible_facts={"nvidia_gpu": facts},
        )

    module.exit_json(changed=False, ansible_facts={"nvidia_gpu": facts})


if __name__ == "__main__":
    main()
