# -*- coding: utf-8 -*-
"""Unit tests of sophia.platform.nvidia_gpu_facts on constructed nvidia-smi documents.

The documents under tests/data/nvidia-smi/ are written in the nvidia-smi XML format; they are not
recordings from hardware (see the README there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
DATA = os.path.join(REPO, "tests", "data", "nvidia-smi")
# The checkout is the collection; .collections/ansible_collections/sophia/platform links to it.
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.sophia.platform.plugins.module_utils import _nvidia_smi  # noqa: E402
from ansible_collections.sophia.platform.plugins.modules import nvidia_gpu_facts  # noqa: E402


def _read(name):
    with open(os.path.join(DATA, name)) as handle:
        return handle.read()


# ---------------------------------------------------------------- parser


def test_gh200_document():
    parsed = _nvidia_smi.parse_xml(_read("gh200.xml"))
    assert parsed["driver_version"] == "550.127.05"
    assert parsed["cuda_version"] == "12.4"
    assert parsed["attached_gpus"] == 1
    (gpu,) = parsed["gpus"]
    assert gpu["name"] == "NVIDIA GH200 480GB"
    assert gpu["uuid"] == "GPU-5f1c6a52-3e1a-4c3d-9d0b-6c7e2f1a9b11"
    assert gpu["pci_bus_id"] == "00000009:01:00.0"
    assert gpu["architecture"] == "Hopper"
    assert gpu["memory_total_mib"] == 97871
    assert gpu["memory_used_mib"] == 1
    assert gpu["memory_free_mib"] == 97280
    assert gpu["persistence_mode"] is True
    assert gpu["compute_mode"] == "Default"
    assert gpu["mig_mode_current"] == "Disabled"
    assert gpu["addressing_mode"] == "ATS"
    assert gpu["temperature_c"] == 31
    assert gpu["power_draw_w"] == pytest.approx(88.53)
    assert gpu["power_limit_w"] == pytest.approx(900.0)
    assert gpu["clock_event_reasons"] == ["gpu_idle"]
    assert gpu["ecc"]["mode_current"] == "Enabled"
    assert gpu["ecc"]["volatile_total"] == {"correctable": 0, "uncorrectable": 0}
    assert gpu["ecc"]["aggregate"]["sram_threshold_exceeded"] is False
    assert gpu["retired_pages"] is None  # Hopper remaps rows instead
    assert gpu["remapped_rows"] == {"correctable": 0, "uncorrectable": 0, "pending": False, "failure": False}
    assert gpu["processes"] == []
    assert gpu["problems"] == []


def test_two_h100_with_a_process():
    parsed = _nvidia_smi.parse_xml(_read("h100-2x.xml"))
    assert [g["pci_bus_id"] for g in parsed["gpus"]] == ["00000000:1B:00.0", "00000000:43:00.0"]
    assert [g["memory_total_mib"] for g in parsed["gpus"]] == [81559, 81559]
    first, second = parsed["gpus"]
    assert first["processes"] == [{"pid": 40211, "type": "C", "name": "python3", "used_memory_mib": 18432}]
    assert first["memory_used_mib"] == 18432
    assert first["clock_event_reasons"] == []
    assert second["processes"] == []
    assert second["index"] == 1


def test_ecc_errors_and_throttling_are_problems():
    (gpu,) = _nvidia_smi.parse_xml(_read("h100-ecc-throttled.xml"))["gpus"]
    assert gpu["ecc"]["volatile"]["dram_uncorrectable"] == 2
    assert gpu["ecc"]["volatile_total"] == {"correctable": 14, "uncorrectable": 2}
    assert gpu["ecc"]["aggregate_total"] == {"correctable": 134, "uncorrectable": 5}
    assert gpu["remapped_rows"] == {"correctable": 3, "uncorrectable": 2, "pending": True, "failure": False}
    assert gpu["clock_event_reasons"] == ["hw_slowdown", "hw_thermal_slowdown", "sw_power_cap", "sw_thermal_slowdown"]
    assert gpu["temperature_c"] == 87
    assert gpu["problems"] == [
        "2 uncorrectable ECC errors since the driver loaded",
        "a row remap is pending: reset the GPU",
        "clocks held back by hw_slowdown, hw_thermal_slowdown, sw_thermal_slowdown",
    ]


def test_legacy_v11_names():
    parsed = _nvidia_smi.parse_xml(_read("v100-legacy-v11.xml"))
    (gpu,) = parsed["gpus"]
    assert gpu["persistence_mode"] is False
    assert gpu["mig_mode_current"] is None
    assert gpu["clock_event_reasons"] == ["sw_power_cap"]
    assert gpu["power_draw_w"] == pytest.approx(298.12)
    assert gpu["power_limit_w"] == pytest.approx(300.0)
    assert gpu["ecc"]["volatile_total"] == {"correctable": 1, "uncorrectable": 0}
    assert gpu["ecc"]["aggregate_total"] == {"correctable": 27, "uncorrectable": 1}
    assert gpu["retired_pages"] == {"single_bit": 2, "double_bit": 1, "pending": False}
    assert gpu["remapped_rows"] is None
    assert gpu["temperature_slowdown_c"] == 87
    # A power cap alone is not a problem: it is the limit doing its job.
    assert gpu["problems"] == []


def test_compute_caps_csv():
    assert _nvidia_smi.parse_compute_caps(_read("h100-2x.compute_cap.csv")) == {
        "GPU-8d2f9e0a-7b4c-4e61-a3f5-0c1d2e3f4a51": "9.0",
        "GPU-8d2f9e0a-7b4c-4e61-a3f5-0c1d2e3f4a52": "9.0",
    }
    assert _nvidia_smi.parse_compute_caps("GPU-x, [N/A]\n\nnonsense\n") == {}


@pytest.mark.parametrize("document", ["", "   ", "Failed to initialize NVML", "<other/>"])
def test_not_a_document(document):
    with pytest.raises(_nvidia_smi.NvidiaSmiParseError):
        _nvidia_smi.parse_xml(document)


def test_entity_expansion_is_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><nvidia_smi_log><driver_version>&b;</driver_version>'
            '</nvidia_smi_log>')
    pytest.importorskip("defusedxml")
    with pytest.raises(_nvidia_smi.NvidiaSmiParseError):
        _nvidia_smi.parse_xml(bomb)


def test_version_mismatch_reason():
    reason, name = _nvidia_smi.describe_failure(18, _read("version-mismatch.stdout"), "")
    assert name == "NVML_ERROR_LIB_RM_VERSION_MISMATCH"
    assert reason.startswith("nvidia-smi failed (exit code 18, NVML_ERROR_LIB_RM_VERSION_MISMATCH): "
                             "Failed to initialize NVML: Driver/library version mismatch")
    assert "reboot" in reason


# ---------------------------------------------------------------- module


class _Exit(Exception):
    def __init__(self, result, failed):
        super(_Exit, self).__init__(result)
        self.result = result
        self.failed = failed


def _fake_exit(self, **kwargs):
    raise _Exit(kwargs, False)


def _fake_fail(self, **kwargs):
    raise _Exit(kwargs, True)


class _FakeSmi:
    """Answers run_command like nvidia-smi would, from the recorded documents."""

    def __init__(self, name=None, rc=0, stdout=None):
        self.name = name
        self.rc = rc
        self.stdout = stdout
        self.calls = []

    def __call__(self, module, args, **kwargs):
        self.calls.append(list(args))
        if self.rc:
            return self.rc, self.stdout, ""
        if "-x" in args:
            return 0, _read(self.name + ".xml"), ""
        if any(a.startswith("--query-gpu=") for a in args):
            return 0, _read(self.name + ".compute_cap.csv"), ""
        return 2, "", "unexpected arguments %r" % (args,)


def _run(monkeypatch, tmp_path, smi, **args):
    binary = tmp_path / "nvidia-smi"
    binary.write_text("#!/bin/sh\nexit 99\n")
    binary.chmod(0o755)
    args.setdefault("nvidia_smi_path", str(binary))
    args.setdefault("pci_devices_path", str(tmp_path / "no-pci"))
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _fake_exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fake_fail)

    def run_command(module, cmd, **kwargs):
        # A plain function, so the patched method still receives the module.
        return smi(module, cmd, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    with patch_module_args(args):
        with pytest.raises(_Exit) as caught:
            nvidia_gpu_facts.main()
    json.dumps(caught.value.result)  # what a module returns must serialise
    return caught.value


def test_module_gh200(monkeypatch, tmp_path):
    smi = _FakeSmi("gh200")
    out = _run(monkeypatch, tmp_path, smi, min_gpu_count=1)
    assert not out.failed
    assert out.result["changed"] is False
    facts = out.result["ansible_facts"]["nvidia_gpu"]
    assert facts["available"] is True
    assert facts["gpu_count"] == 1
    assert facts["reason"] is None
    assert facts["driver_version"] == "550.127.05"
    assert facts["gpus"][0]["compute_capability"] == "9.0"
    assert facts["gpus"][0]["memory_total_mib"] == 97871
    assert facts["problems"] == []
    assert smi.calls[0][1:] == ["-q", "-x"]


def test_module_without_compute_capability_query(monkeypatch, tmp_path):
    smi = _FakeSmi("gh200")
    out = _run(monkeypatch, tmp_path, smi, query_compute_capability=False)
    assert out.result["ansible_facts"]["nvidia_gpu"]["gpus"][0]["compute_capability"] is None
    assert len(smi.calls) == 1


def test_module_problems_are_prefixed_with_uuid(monkeypatch, tmp_path):
    out = _run(monkeypatch, tmp_path, _FakeSmi("h100-ecc-throttled"))
    problems = out.result["ansible_facts"]["nvidia_gpu"]["problems"]
    assert len(problems) == 3
    assert all(p.startswith("GPU-3c4d5e6f-0011-4a22-8b33-c44d55e66f77: ") for p in problems)


def test_module_version_mismatch_is_reported_not_failed(monkeypatch, tmp_path):
    smi = _FakeSmi(rc=18, stdout=_read("version-mismatch.stdout"))
    out = _run(monkeypatch, tmp_path, smi)
    assert not out.failed
    facts = out.result["ansible_facts"]["nvidia_gpu"]
    assert facts["gpu_count"] == 0
    assert facts["available"] is False
    assert facts["nvml_error"] == "NVML_ERROR_LIB_RM_VERSION_MISMATCH"
    assert "Driver/library version mismatch" in facts["reason"]


def test_module_version_mismatch_fails_when_gpu_required(monkeypatch, tmp_path):
    smi = _FakeSmi(rc=18, stdout=_read("version-mismatch.stdout"))
    out = _run(monkeypatch, tmp_path, smi, require_gpu=True)
    assert out.failed
    assert out.result["msg"].startswith("1 GPU(s) required, 0 usable: nvidia-smi failed (exit code 18")
    assert out.result["ansible_facts"]["nvidia_gpu"]["gpu_count"] == 0


def test_module_too_few_gpus(monkeypatch, tmp_path):
    out = _run(monkeypatch, tmp_path, _FakeSmi("gh200"), min_gpu_count=2)
    assert out.failed
    assert out.result["msg"] == "2 GPU(s) required, 1 usable: only 1 GPU(s) found"


def test_module_no_driver(monkeypatch, tmp_path):
    smi = _FakeSmi("gh200")
    out = _run(monkeypatch, tmp_path, smi, nvidia_smi_path=str(tmp_path / "absent" / "nvidia-smi"))
    assert not out.failed
    facts = out.result["ansible_facts"]["nvidia_gpu"]
    assert facts["gpu_count"] == 0
    assert "not an executable file" in facts["reason"]
    assert smi.calls == []


def test_module_no_driver_in_path(monkeypatch, tmp_path):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, *a, **k: None)
    smi = _FakeSmi("gh200")
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _fake_exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fake_fail)

    def run_command(module, cmd, **kwargs):
        # A plain function, so the patched method still receives the module.
        return smi(module, cmd, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    with patch_module_args({"min_gpu_count": 1}):
        with pytest.raises(_Exit) as caught:
            nvidia_gpu_facts.main()
    assert caught.value.failed
    assert "nvidia-smi was not found" in caught.value.result["msg"]


def test_module_garbage_output_fails(monkeypatch, tmp_path):
    class Garbage(_FakeSmi):
        def __call__(self, module, args, **kwargs):
            return 0, "this is not xml", ""

    out = _run(monkeypatch, tmp_path, Garbage())
    assert out.failed
    assert "is not XML" in out.result["msg"]


def test_module_negative_count_refused(monkeypatch, tmp_path):
    out = _run(monkeypatch, tmp_path, _FakeSmi("gh200"), min_gpu_count=-1)
    assert out.failed
    assert "min_gpu_count" in out.result["msg"]


def _pci_device(root, address, vendor, pci_class, device, driver=None):
    path = root / address
    path.mkdir(parents=True)
    (path / "vendor").write_text(vendor + "\n")
    (path / "class").write_text(pci_class + "\n")
    (path / "device").write_text(device + "\n")
    if driver:
        target = root.parent / "drivers" / driver
        target.mkdir(parents=True, exist_ok=True)
        (path / "driver").symlink_to(target)


def test_pci_gpus_from_sysfs(tmp_path):
    root = tmp_path / "devices"
    _pci_device(root, "0009:01:00.0", "0x10de", "0x030200", "0x2342", driver="nvidia")
    _pci_device(root, "0000:43:00.0", "0x10de", "0x030000", "0x2330")  # no driver bound
    _pci_device(root, "0000:05:00.0", "0x10de", "0x068000", "0x22a3", driver="nvidia")  # NVSwitch: not a GPU
    _pci_device(root, "0000:00:02.0", "0x8086", "0x030000", "0x46a6", driver="i915")
    found = _nvidia_smi.pci_gpus(str(root), os.listdir, lambda p: open(p).read(), os.readlink)
    assert found == [
        {"address": "0000:43:00.0", "device_id": "0x2330", "driver": None},
        {"address": "0009:01:00.0", "device_id": "0x2342", "driver": "nvidia"},
    ]
    assert _nvidia_smi.pci_gpus(str(tmp_path / "absent"), os.listdir, open, os.readlink) == []


def test_module_reports_pci_gpus_without_driver(monkeypatch, tmp_path):
    root = tmp_path / "devices"
    _pci_device(root, "0009:01:00.0", "0x10de", "0x030200", "0x2342")
    out = _run(monkeypatch, tmp_path, _FakeSmi("gh200"), nvidia_smi_path=str(tmp_path / "absent"),
               pci_devices_path=str(root))
    facts = out.result["ansible_facts"]["nvidia_gpu"]
    assert facts["gpu_count"] == 0
    assert facts["pci_gpus"] == [{"address": "0009:01:00.0", "device_id": "0x2342", "driver": None}]
