# -*- coding: utf-8 -*-
# Copyright: Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Parse the machine-readable output of ``nvidia-smi``.

Private helper of sophia.platform (not a public API). It turns the XML document
written by ``nvidia-smi -q -x`` (DTD ``nvsmi_device_v12.dtd`` and the older v11
element names) and the CSV written by ``nvidia-smi --query-gpu=... --format=csv``
into plain Python data. Nothing here runs a command, so every function is
unit-tested on recorded documents.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    # defusedxml refuses entity expansion and external entities; nvidia-smi never
    # writes either, so the standard library parser is an adequate fallback on
    # hosts where defusedxml is not installed.
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring as _xml_fromstring
    from defusedxml.ElementTree import ParseError
except ImportError:  # pragma: no cover - depends on the host
    from xml.etree.ElementTree import fromstring as _xml_fromstring
    from xml.etree.ElementTree import ParseError

    class DefusedXmlException(ValueError):
        """Stands in for defusedxml's exception where defusedxml is not installed."""

# NVML return codes that nvidia-smi uses as its exit status (nvml.h, nvmlReturn_t).
NVML_ERRORS = {
    2: "NVML_ERROR_INVALID_ARGUMENT",
    3: "NVML_ERROR_NOT_SUPPORTED",
    4: "NVML_ERROR_NO_PERMISSION",
    6: "NVML_ERROR_NOT_FOUND",
    9: "NVML_ERROR_DRIVER_NOT_LOADED",
    12: "NVML_ERROR_LIBRARY_NOT_FOUND",
    15: "NVML_ERROR_GPU_IS_LOST",
    17: "NVML_ERROR_OPERATING_SYSTEM",
    18: "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
    255: "NVML_ERROR_UNKNOWN",
}

# What each failure means for a person running the play.
NVML_HINTS = {
    6: "no NVIDIA GPU was found by the driver",
    9: "the NVIDIA kernel driver is not loaded",
    12: "the NVML library (libnvidia-ml) is not installed",
    15: "a GPU has fallen off the bus; the host needs attention before use",
    18: "the loaded kernel module and the installed user-space driver differ; "
        "reboot (or reload the nvidia modules) after a driver upgrade",
}

# Active clock event (throttle) reasons that mean the GPU is being held back by
# heat or power, not merely idle or asked to run slower by an application.
HARMFUL_CLOCK_REASONS = frozenset([
    "hw_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
    "sw_thermal_slowdown",
])

_NOT_AVAILABLE = frozenset(["N/A", "Not Available", "Unknown Error", "[N/A]",
                            "[Not Supported]", "Not Supported", "Requested functionality has been deprecated", ""])


class NvidiaSmiParseError(Exception):
    """The document is not what nvidia-smi writes."""


def _text(elem, path):
    """Text of the sub-element at ``path``, or None when absent or not available."""
    if elem is None:
        return None
    node = elem.find(path)
    if node is None or node.text is None:
        return None
    value = node.text.strip()
    if value in _NOT_AVAILABLE:
        return None
    return value


def _number(value):
    """First token of ``value`` as an int or float ("97871 MiB" -> 97871)."""
    if value is None:
        return None
    token = value.split()[0] if value.split() else ""
    try:
        return int(token)
    except ValueError:
        try:
            return float(token)
        except ValueError:
            return None


def _enabled(value):
    """nvidia-smi's Enabled/Disabled, Yes/No and Active/Not Active as a bool."""
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("enabled", "yes", "active", "on", "true"):
        return True
    if lowered in ("disabled", "no", "not active", "off", "false"):
        return False
    return None


def _counters(elem):
    """Children of ``elem`` as {name: int or bool or str}, skipping unavailable ones."""
    result = {}
    if elem is None:
        return result
    for child in elem:
        if len(child):
            nested = _counters(child)
            if nested:
                result[child.tag] = nested
            continue
        raw = (child.text or "").strip()
        if raw in _NOT_AVAILABLE:
            continue
        number = _number(raw)
        if number is not None and raw.split()[0] == str(number):
            result[child.tag] = number
        elif _enabled(raw) is not None:
            result[child.tag] = _enabled(raw)
        else:
            result[child.tag] = raw
    return result


def _sum_ints(mapping, keys):
    return sum(v for k, v in mapping.items() if k in keys and isinstance(v, int))


def _ecc(gpu):
    errors = gpu.find("ecc_errors")
    volatile = _counters(errors.find("volatile") if errors is not None else None)
    aggregate = _counters(errors.find("aggregate") if errors is not None else None)

    def totals(block):
        # DTD v12 (Hopper and later): flat sram_*/dram_* counters.
        correctable = _sum_ints(block, ("sram_correctable", "dram_correctable"))
        uncorrectable = _sum_ints(block, ("sram_uncorrectable", "sram_uncorrectable_parity",
                                          "sram_uncorrectable_secded", "dram_uncorrectable"))
        # DTD v11 and earlier: single_bit / double_bit blocks with a total each.
        if isinstance(block.get("single_bit"), dict):
            correctable += block["single_bit"].get("total", 0) or 0
        if isinstance(block.get("double_bit"), dict):
            uncorrectable += block["double_bit"].get("total", 0) or 0
        return {"correctable": correctable, "uncorrectable": uncorrectable}

    return {
        "mode_current": _text(gpu, "ecc_mode/current_ecc"),
        "mode_pending": _text(gpu, "ecc_mode/pending_ecc"),
        "volatile": volatile,
        "aggregate": aggregate,
        "volatile_total": totals(volatile),
        "aggregate_total": totals(aggregate),
    }


def _retired_pages(gpu):
    block = gpu.find("retired_pages")
    if block is None:
        return None
    single = _number(_text(block, "multiple_single_bit_retirement/retired_count"))
    double = _number(_text(block, "double_bit_retirement/retired_count"))
    pending = _enabled(_text(block, "pending_retirement") or _text(block, "pending_blacklist"))
    if single is None and double is None and pending is None:
        # Hopper and later report row remapping instead of page retirement.
        return None
    return {"single_bit": single, "double_bit": double, "pending": pending}


def _remapped_rows(gpu):
    block = gpu.find("remapped_rows")
    if block is None:
        return None
    result = {
        "correctable": _number(_text(block, "remapped_row_corr")),
        "uncorrectable": _number(_text(block, "remapped_row_unc")),
        "pending": _enabled(_text(block, "remapped_row_pending")),
        "failure": _enabled(_text(block, "remapped_row_failure")),
    }
    if all(v is None for v in result.values()):
        return None
    return result


def _clock_reasons(gpu):
    """Active clock event reasons, short names ('sw_power_cap', ...)."""
    # Driver 535 renamed clocks_throttle_reasons to clocks_event_reasons (DTD v12).
    for block_name, prefix in (("clocks_event_reasons", "clocks_event_reason_"),
                               ("clocks_throttle_reasons", "clocks_throttle_reason_")):
        block = gpu.find(block_name)
        if block is None:
            continue
        active = []
        for child in block:
            if _enabled((child.text or "").strip()):
                name = child.tag
                if name.startswith(prefix):
                    name = name[len(prefix):]
                active.append(name)
        return sorted(active)
    return []


def _power(gpu):
    # DTD v12 has gpu_power_readings with average/instant draw; older ones power_readings.
    block = gpu.find("gpu_power_readings")
    if block is None:
        block = gpu.find("power_readings")
    if block is None:
        return None, None
    draw = None
    for tag in ("power_draw", "average_power_draw", "instant_power_draw"):
        draw = _number(_text(block, tag))
        if draw is not None:
            break
    limit = None
    for tag in ("current_power_limit", "power_limit", "enforced_power_limit"):
        limit = _number(_text(block, tag))
        if limit is not None:
            break
    return draw, limit


def _processes(gpu):
    block = gpu.find("processes")
    result = []
    if block is None:
        return result
    for proc in block.findall("process_info"):
        result.append({
            "pid": _number(_text(proc, "pid")),
            "type": _text(proc, "type"),
            "name": _text(proc, "process_name"),
            "used_memory_mib": _number(_text(proc, "used_memory")),
        })
    return result


def problems_of(gpu):
    """Conditions that make a GPU unfit for work, as short sentences."""
    found = []
    ecc = gpu["ecc"]
    if ecc["volatile_total"]["uncorrectable"]:
        found.append("%d uncorrectable ECC errors since the driver loaded"
                     % ecc["volatile_total"]["uncorrectable"])
    rows = gpu.get("remapped_rows") or {}
    if rows.get("failure"):
        found.append("row remapping failed: the GPU needs replacement")
    if rows.get("pending"):
        found.append("a row remap is pending: reset the GPU")
    pages = gpu.get("retired_pages") or {}
    if pages.get("pending"):
        found.append("a page retirement is pending: reset the GPU")
    harmful = sorted(set(gpu["clock_event_reasons"]) & HARMFUL_CLOCK_REASONS)
    if harmful:
        found.append("clocks held back by %s" % ", ".join(harmful))
    return found


def parse_gpu(gpu, index):
    memory_total = _number(_text(gpu, "fb_memory_usage/total"))
    draw, limit = _power(gpu)
    parsed = {
        "index": index,
        "name": _text(gpu, "product_name"),
        "brand": _text(gpu, "product_brand"),
        "architecture": _text(gpu, "product_architecture"),
        "uuid": _text(gpu, "uuid"),
        "serial": _text(gpu, "serial"),
        "pci_bus_id": _text(gpu, "pci/pci_bus_id") or gpu.get("id"),
        "vbios_version": _text(gpu, "vbios_version"),
        "memory_total_mib": memory_total,
        "memory_used_mib": _number(_text(gpu, "fb_memory_usage/used")),
        "memory_free_mib": _number(_text(gpu, "fb_memory_usage/free")),
        "persistence_mode": _enabled(_text(gpu, "persistence_mode")),
        "compute_mode": _text(gpu, "compute_mode"),
        "mig_mode_current": _text(gpu, "mig_mode/current_mig"),
        "mig_mode_pending": _text(gpu, "mig_mode/pending_mig"),
        "addressing_mode": _text(gpu, "addressing_mode"),
        "performance_state": _text(gpu, "performance_state"),
        "temperature_c": _number(_text(gpu, "temperature/gpu_temp")),
        "temperature_slowdown_c": _number(_text(gpu, "temperature/gpu_temp_slow_threshold")),
        "power_draw_w": draw,
        "power_limit_w": limit,
        "clock_event_reasons": _clock_reasons(gpu),
        "ecc": _ecc(gpu),
        "retired_pages": _retired_pages(gpu),
        "remapped_rows": _remapped_rows(gpu),
        "processes": _processes(gpu),
        "compute_capability": None,
    }
    parsed["problems"] = problems_of(parsed)
    return parsed


def parse_xml(document):
    """Parse ``nvidia-smi -q -x`` output into {'driver_version', 'cuda_version', 'gpus'}."""
    if not document or not document.strip():
        raise NvidiaSmiParseError("nvidia-smi wrote no XML document")
    try:
        root = _xml_fromstring(document.encode("utf-8") if isinstance(document, str) else document)
    except (ParseError, DefusedXmlException) as exc:
        raise NvidiaSmiParseError("nvidia-smi wrote a document that is not XML: %s" % exc)
    if root.tag != "nvidia_smi_log":
        raise NvidiaSmiParseError("expected <nvidia_smi_log>, found <%s>" % root.tag)
    gpus = [parse_gpu(gpu, index) for index, gpu in enumerate(root.findall("gpu"))]
    attached = _number(_text(root, "attached_gpus"))
    return {
        "driver_version": _text(root, "driver_version"),
        "cuda_version": _text(root, "cuda_version"),
        "attached_gpus": attached if attached is not None else len(gpus),
        "gpus": gpus,
    }


def parse_compute_caps(document):
    """Parse ``--query-gpu=uuid,compute_cap --format=csv,noheader`` into {uuid: '9.0'}."""
    result = {}
    for line in (document or "").splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 2 or not fields[0]:
            continue
        if fields[1] in _NOT_AVAILABLE:
            continue
        result[fields[0]] = fields[1]
    return result


def describe_failure(rc, stdout, stderr):
    """A person-readable reason for a failed nvidia-smi run, plus the NVML error name."""
    lines = [line.strip() for line in ((stdout or "") + "\n" + (stderr or "")).splitlines() if line.strip()]
    # nvidia-smi writes its one-line complaint first; later lines repeat or add versions.
    first = lines[0] if lines else ""
    name = NVML_ERRORS.get(rc)
    hint = NVML_HINTS.get(rc)
    reason = "nvidia-smi failed (exit code %d%s)" % (rc, ", %s" % name if name else "")
    if first:
        reason += ": %s" % first
    if hint:
        reason += " (%s)" % hint
    return reason, name


def pci_gpus(devices_path, listdir, read, readlink):
    """NVIDIA display controllers under ``devices_path`` (sysfs), with the driver bound to each.

    The file accessors are passed in so the function stays pure and testable.
    """
    found = []
    try:
        names = sorted(listdir(devices_path))
    except OSError:
        return found
    for name in names:
        base = devices_path.rstrip("/") + "/" + name
        try:
            vendor = read(base + "/vendor").strip().lower()
            pci_class = read(base + "/class").strip().lower()
        except (OSError, IOError):
            continue
        # 0x10de is NVIDIA; class 0x0300 is a VGA controller, 0x0302 a 3D controller (data-centre GPUs).
        if vendor != "0x10de" or not pci_class.startswith(("0x0300", "0x0302")):
            continue
        try:
            device = read(base + "/device").strip().lower()
        except (OSError, IOError):
            device = None
        try:
            driver = readlink(base + "/driver").rstrip("/").split("/")[-1]
        except (OSError, IOError):
            driver = None
        found.append({"address": name, "device_id": device, "driver": driver})
    return found
