# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: what status.yml and diagnose.yml report, summarised from Kubernetes API objects and host output."""

from __future__ import annotations

DOCUMENTATION = r"""
name: day2_summary
author: Sophia platform team
version_added: 0.1.0
short_description: Summarise cluster objects and host output for the day-2 status and diagnose reports
description:
  - Turns what C(kubernetes.core.k8s_info), C(k3s etcd-snapshot list), C(journalctl -o json), cgroup C(cpu.stat)
    files and C(community.crypto.get_certificate) return into short records a person on call can read, with ages
    and days left counted from O(now).
  - "O(kind) selects the input: V(nodes) (Node objects, O(metrics) NodeMetrics objects), V(pods) (Pod objects;
    only those not running well are returned), V(certificates) (cert-manager Certificate objects),
    V(acme) (cert-manager Order or Challenge objects), V(etcd_snapshots) (ETCDSnapshotFile objects, or the text
    of C(k3s etcd-snapshot list)), V(backups) (CloudNativePG Backup objects), V(hpa) (HorizontalPodAutoscaler
    objects), V(xid) (kernel journal entries as C(journalctl -o json) lines, or plain log lines),
    V(cpu_stat) (a list of C({path, content}) of cgroup C(cpu.stat) files, or C(grep -r -H) output of them), V(served_certificate) (the result of
    C(community.crypto.get_certificate)), V(disks) (the text of C(df -B1 --output=target,fstype,size,used)),
    V(events) (Event objects, newest first), V(endpoints) (a Service's EndpointSlice objects),
    V(report_lines) (the status report, as lines of text), V(problems) (the status report's problems, one line
    each)."
options:
  _input:
    description: The objects or text to summarise (see O(kind)).
    type: raw
    required: true
  kind:
    description: What O(_input) is.
    type: str
    required: true
    choices: [nodes, pods, certificates, acme, etcd_snapshots, backups, hpa, xid, cpu_stat, served_certificate,
              disks, events, endpoints, report_lines, problems]
  now:
    description: The time ages are counted to, ISO 8601 (for example C(2026-11-30T03:00:00Z)); default the current
      UTC time.
    type: str
  metrics:
    description: NodeMetrics objects (C(metrics.k8s.io/v1beta1)) for O(kind=nodes); empty when no metrics server runs.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Nodes and their readiness
  ansible.builtin.debug:
    msg: "{{ _nodes.resources | sophia.platform.day2_summary('nodes', metrics=_metrics.resources) }}"

- name: The newest etcd snapshot and its age
  ansible.builtin.debug:
    msg: "{{ _snapshots.resources | sophia.platform.day2_summary('etcd_snapshots', now=_now) }}"
"""

RETURN = r"""
_value:
  description: A list of records, or one record (V(etcd_snapshots), V(backups), V(served_certificate)), or lines
    of text (V(report_lines)).
  type: raw
"""

import datetime
import json
import re

from ansible.errors import AnsibleFilterError

_XID = re.compile(
    r"NVRM: Xid \(PCI:(?P<pci>[0-9A-Fa-f:.]+)\): (?P<xid>\d+)"
    r"(?:, pid='?(?P<pid><unknown>|\d+)'?)?(?:, name=(?P<name>[^,]*))?(?:, (?P<detail>.*))?$")
_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


def _parse_time(value):
    """A datetime (UTC) from the time formats the inputs carry, or None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    text = str(value).strip()
    if re.match(r"^\d{14}Z$", text):  # ASN.1 GeneralizedTime, as get_certificate returns it
        return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    text = text.replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _now(now):
    if now in (None, ""):
        return datetime.datetime.now(datetime.timezone.utc)
    parsed = _parse_time(now)
    if parsed is None:
        raise AnsibleFilterError("day2_summary: now=%r is not an ISO 8601 time" % (now,))
    return parsed


def _iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def age_text(seconds):
    """3d 4h, 5h 12m, 40m, 12s; negative ages (in the future) get a leading 'in '."""
    if seconds is None:
        return "unknown"
    prefix = "in " if seconds < 0 else ""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return "%s%dd %dh" % (prefix, days, hours)
    if hours:
        return "%s%dh %dm" % (prefix, hours, minutes)
    if minutes:
        return "%s%dm" % (prefix, minutes)
    return "%s%ds" % (prefix, secs)


def quantity(value):
    """A Kubernetes resource quantity as a float (bytes, or cores)."""
    if value in (None, ""):
        return None
    match = re.match(r"^([0-9.]+)(Ki|Mi|Gi|Ti|Pi|n|u|m|k|M|G|T|P)?$", str(value))
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2) or ""
    return number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def _meta(obj):
    return obj.get("metadata") or {}


def _condition(obj, kind):
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return {}


def nodes(items, metrics=None):
    usage = {_meta(m).get("name"): m.get("usage") or {} for m in metrics or []}
    out = []
    for node in items or []:
        status = node.get("status") or {}
        name = _meta(node).get("name")
        ready = _condition(node, "Ready")
        labels = _meta(node).get("labels") or {}
        roles = sorted(key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/"))
        capacity = status.get("capacity") or {}
        cpu_total, memory_total = quantity(capacity.get("cpu")), quantity(capacity.get("memory"))
        used = usage.get(name)
        record = {
            "name": name,
            "ready": ready.get("status", "Unknown"),
            "reason": ready.get("reason"),
            "message": ready.get("message"),
            "roles": roles,
            "version": (status.get("nodeInfo") or {}).get("kubeletVersion"),
            "pressure": sorted(c["type"] for c in status.get("conditions") or []
                               if c.get("type") != "Ready" and c.get("status") == "True"),
            "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
            "cpu_cores": cpu_total,
            "memory_mib": round(memory_total / 2 ** 20) if memory_total is not None else None,
            "metrics": used is not None,
            "cpu_used_cores": None, "cpu_percent": None, "memory_used_mib": None, "memory_percent": None,
        }
        if used is not None:
            cpu_used, memory_used = quantity(used.get("cpu")), quantity(used.get("memory"))
            record["cpu_used_cores"] = round(cpu_used, 3) if cpu_used is not None else None
            record["memory_used_mib"] = round(memory_used / 2 ** 20) if memory_used is not None else None
            if cpu_used is not None and cpu_total:
                record["cpu_percent"] = round(100 * cpu_used / cpu_total, 1)
            if memory_used is not None and memory_total:
                record["memory_percent"] = round(100 * memory_used / memory_total, 1)
        out.append(record)
    return out


def _container_problem(status):
    state = status.get("state") or {}
    if "waiting" in state:
        return (state["waiting"] or {}).get("reason") or "Waiting"
    if "terminated" in state and (state["terminated"] or {}).get("reason") != "Completed":
        return (state["terminated"] or {}).get("reason") or "Terminated"
    if not status.get("ready", False) and "running" in state:
        return "NotReady"
    return None


def pods(items):
    """Pods that are not running well: not Running/Succeeded, or a container waiting, failed or not ready."""
    out = []
    for pod in items or []:
        status = pod.get("status") or {}
        phase = status.get("phase", "Unknown")
        if phase == "Succeeded":
            continue
        containers = status.get("containerStatuses") or []
        failing = [(c.get("name"), _container_problem(c))
                   for c in (status.get("initContainerStatuses") or []) + containers]
        failing = [(name, reason) for name, reason in failing if reason]
        if phase == "Running" and not failing:
            continue
        last = {}
        for container in containers:
            terminated = (container.get("lastState") or {}).get("terminated")
            if terminated and (terminated.get("finishedAt") or "") >= (last.get("finishedAt") or ""):
                last = dict(terminated, container=container.get("name"))
        out.append({
            "namespace": _meta(pod).get("namespace"),
            "name": _meta(pod).get("name"),
            "node": (pod.get("spec") or {}).get("nodeName"),
            "phase": phase,
            "reason": failing[0][1] if failing else (status.get("reason") or phase),
            "containers": ["%s: %s" % (name, reason) for name, reason in failing],
            "ready": "%d/%d" % (sum(1 for c in containers if c.get("ready")), len(containers)),
            "restarts": sum(int(c.get("restartCount") or 0) for c in containers),
            "last_termination": ("%s: %s (exit %s) at %s" % (last["container"], last.get("reason"),
                                                             last.get("exitCode"), last.get("finishedAt"))
                                 if last else None),
        })
    return sorted(out, key=lambda p: (p["namespace"] or "", p["name"] or ""))


def certificates(items, now):
    out = []
    for cert in items or []:
        status = cert.get("status") or {}
        ready = _condition(cert, "Ready")
        not_after = _parse_time(status.get("notAfter"))
        seconds_left = (not_after - now).total_seconds() if not_after else None
        out.append({
            "namespace": _meta(cert).get("namespace"),
            "name": _meta(cert).get("name"),
            "dns_names": (cert.get("spec") or {}).get("dnsNames") or [],
            "ready": ready.get("status", "Unknown"),
            "reason": ready.get("reason"),
            "message": ready.get("message"),
            "not_before": status.get("notBefore"),
            "not_after": status.get("notAfter"),
            "renewal_time": status.get("renewalTime"),
            "days_left": round(seconds_left / 86400, 1) if seconds_left is not None else None,
            "expired": seconds_left is not None and seconds_left <= 0,
            "renewal_overdue": bool(_parse_time(status.get("renewalTime"))
                                    and _parse_time(status.get("renewalTime")) < now),
        })
    return sorted(out, key=lambda c: (c["days_left"] is None, c["days_left"] or 0))


def acme(items):
    """cert-manager Orders and Challenges: one line of state each."""
    out = []
    for obj in items or []:
        status, spec = obj.get("status") or {}, obj.get("spec") or {}
        out.append({
            "kind": obj.get("kind"),
            "namespace": _meta(obj).get("namespace"),
            "name": _meta(obj).get("name"),
            "state": status.get("state") or "pending",
            "reason": status.get("reason"),
            "dns_name": spec.get("dnsName") or ", ".join(spec.get("dnsNames") or []) or None,
            "type": spec.get("type"),
        })
    return out


def events(items):
    """Events, newest first, one line each: time, object, reason, message and how often it repeated."""
    out = []
    for event in items or []:
        regarding = event.get("involvedObject") or event.get("regarding") or {}
        when = (event.get("lastTimestamp") or (event.get("series") or {}).get("lastObservedTime")
                or event.get("eventTime") or _meta(event).get("creationTimestamp"))
        count = event.get("count") or (event.get("series") or {}).get("count") or 1
        out.append((_iso(_parse_time(when)) or "", "%s %s %s/%s %s: %s%s" % (
            _iso(_parse_time(when)) or "-", event.get("type"), regarding.get("kind"), regarding.get("name"),
            event.get("reason"), (event.get("message") or event.get("note") or "").strip(),
            " (x%s)" % count if int(count) > 1 else "")))
    return [line for _when, line in sorted(out, key=lambda pair: pair[0], reverse=True)]


def endpoints(items):
    """EndpointSlices of a Service: ready and not-ready addresses."""
    ready, not_ready = [], []
    for endpoint_slice in items or []:
        for endpoint in endpoint_slice.get("endpoints") or []:
            target = ready if (endpoint.get("conditions") or {}).get("ready") else not_ready
            target.extend(endpoint.get("addresses") or [])
    return {"slices": len(items or []), "ready": sorted(ready), "not_ready": sorted(not_ready)}


def _snapshot_record(name, node, location, size, created, now):
    moment = _parse_time(created)
    return {"name": name, "node": node, "location": location,
            "size": int(size) if str(size or "").isdigit() else size, "created": _iso(moment),
            "age_seconds": int((now - moment).total_seconds()) if moment else None,
            "age": age_text((now - moment).total_seconds()) if moment else "unknown"}


def etcd_snapshots(data, now):
    """The newest snapshot from ETCDSnapshotFile objects or from `k3s etcd-snapshot list` text."""
    records = []
    if isinstance(data, str):
        for line in data.splitlines():
            fields = line.split()
            # Newer releases print a header (Name Location Size Created); older ones do not.
            if len(fields) < 4 or fields[0] == "Name" or not _parse_time(fields[-1]):
                continue
            records.append(_snapshot_record(fields[0], None, fields[1], fields[2], fields[-1], now))
    else:
        for obj in data or []:
            spec, status = obj.get("spec") or {}, obj.get("status") or {}
            if status.get("readyToUse") is False:
                continue
            records.append(_snapshot_record(spec.get("snapshotName") or _meta(obj).get("name"), spec.get("nodeName"),
                                            spec.get("location"), status.get("size"),
                                            status.get("creationTime") or _meta(obj).get("creationTimestamp"), now))
    dated = [r for r in records if r["created"]]
    latest = max(dated, key=lambda r: r["created"]) if dated else None
    return {"count": len(records), "latest": latest}


def backups(items, now):
    """The newest completed CloudNativePG backup and the newest attempt of any outcome."""
    records = []
    for obj in items or []:
        status, spec = obj.get("status") or {}, obj.get("spec") or {}
        finished = _parse_time(status.get("stoppedAt")) or _parse_time(status.get("reconciliationTerminatedAt"))
        started = (_parse_time(status.get("startedAt")) or _parse_time(status.get("reconciliationStartedAt"))
                   or _parse_time(_meta(obj).get("creationTimestamp")))
        records.append({
            "namespace": _meta(obj).get("namespace"),
            "name": _meta(obj).get("name") or status.get("backupName"),
            "cluster": (spec.get("cluster") or {}).get("name") or status.get("serverName"),
            "method": status.get("method") or spec.get("method"),
            "phase": status.get("phase") or "pending",
            "error": status.get("error"),
            "started": _iso(started),
            "finished": _iso(finished),
            "age_seconds": int((now - finished).total_seconds()) if finished else None,
            "age": age_text((now - finished).total_seconds()) if finished else "unknown",
        })
    completed = [r for r in records if r["phase"] == "completed"]
    dated = [r for r in completed if r["finished"]]
    attempts = [r for r in records if r["started"] or r["finished"]]
    return {
        "count": len(records),
        "completed": len(completed),
        "failed": [r for r in records if r["phase"] == "failed"],
        "latest_completed": max(dated, key=lambda r: r["finished"]) if dated else None,
        "completed_without_time": [r["name"] for r in completed if not r["finished"]],
        "latest_attempt": max(attempts, key=lambda r: r["finished"] or r["started"]) if attempts else None,
    }


def hpa(items):
    out = []
    for obj in items or []:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        current = []
        for metric in status.get("currentMetrics") or []:
            kind = metric.get("type") or ""
            source = metric.get(kind[:1].lower() + kind[1:]) or {}
            value = source.get("current") or {}
            shown = value.get("averageUtilization")
            current.append("%s %s" % (source.get("name") or (source.get("metric") or {}).get("name") or "?",
                                      "%s%%" % shown if shown is not None else value.get("averageValue")
                                      or value.get("value")))
        out.append({
            "namespace": _meta(obj).get("namespace"),
            "name": _meta(obj).get("name"),
            "target": "%s/%s" % ((spec.get("scaleTargetRef") or {}).get("kind"),
                                 (spec.get("scaleTargetRef") or {}).get("name")) if spec.get("scaleTargetRef") else None,
            "min": spec.get("minReplicas"),
            "max": spec.get("maxReplicas"),
            "current_replicas": status.get("currentReplicas"),
            "desired_replicas": status.get("desiredReplicas"),
            "metrics": current,
            "conditions": {c.get("type"): "%s (%s)" % (c.get("status"), c.get("reason"))
                           for c in status.get("conditions") or []},
            "limited": _condition(obj, "ScalingLimited").get("status") == "True",
            "active": _condition(obj, "ScalingActive").get("status", "Unknown"),
        })
    return out


def xid(data):
    """NVIDIA Xid events from kernel journal entries (journalctl -o json lines) or plain log lines."""
    lines = data.splitlines() if isinstance(data, str) else list(data or [])
    out = []
    for line in lines:
        entry = line
        if isinstance(line, str) and line.lstrip().startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                entry = line
        if isinstance(entry, dict):
            message = entry.get("MESSAGE")
            if isinstance(message, list):  # journald exports non-UTF-8 messages as byte lists
                message = bytes(message).decode("utf-8", "replace")
            stamp = entry.get("__REALTIME_TIMESTAMP")
            moment = (datetime.datetime.fromtimestamp(int(stamp) / 1e6, datetime.timezone.utc)
                      if str(stamp or "").isdigit() else None)
            identifier = entry.get("SYSLOG_IDENTIFIER")
        else:
            message, moment, identifier = str(entry), None, None
        found = _XID.search(message or "")
        if not found:
            continue
        pid = found.group("pid")
        out.append({
            "time": _iso(moment),
            "source": identifier,
            "pci": found.group("pci"),
            "xid": int(found.group("xid")),
            "pid": int(pid) if pid and pid.isdigit() else None,
            "process": (found.group("name") or "").strip() or None,
            "detail": (found.group("detail") or "").strip() or None,
            "message": message[found.start():].strip(),
        })
    return out


def cpu_stat(files):
    """CPU throttling per cgroup from cpu.stat (v1: throttled_time in ns; v2: throttled_usec). Input: a list of
    {path, content}, or the text of `grep -r -H '' --include=cpu.stat ROOT` (lines of PATH:KEY VALUE)."""
    if isinstance(files, str):
        grouped = {}
        for line in files.splitlines():
            path, sep, rest = line.partition(":")
            if sep:
                grouped.setdefault(path, []).append(rest)
        files = [{"path": path, "content": "\n".join(lines)} for path, lines in grouped.items()]
    out = []
    for item in files or []:
        values = {}
        for line in (item.get("content") or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                values[parts[0]] = int(parts[1])
        if "nr_periods" not in values:
            continue
        if "throttled_usec" in values:
            throttled_seconds = values["throttled_usec"] / 1e6
        else:
            throttled_seconds = values.get("throttled_time", 0) / 1e9
        periods, throttled = values["nr_periods"], values.get("nr_throttled", 0)
        out.append({
            "cgroup": item.get("path"),
            "periods": periods,
            "throttled_periods": throttled,
            "throttled_percent": round(100.0 * throttled / periods, 1) if periods else 0.0,
            "throttled_seconds": round(throttled_seconds, 3),
        })
    return sorted(out, key=lambda r: (-r["throttled_percent"], r["cgroup"] or ""))


def disks(text):
    """File systems from `df -B1 --output=target,fstype,size,used`, one record each, in GiB."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) != 4 or not fields[2].isdigit() or not fields[3].isdigit():
            continue  # the header, or a line df could not fill
        size, used = int(fields[2]), int(fields[3])
        if any(d["mount"] == fields[0] for d in out):
            continue
        out.append({"mount": fields[0], "fstype": fields[1], "size_gib": round(size / 2 ** 30, 1),
                    "used_gib": round(used / 2 ** 30, 1), "percent": round(100.0 * used / size, 1) if size else 0.0})
    return out


def problems(report):
    """What needs a person: each line names the host or object and what is wrong."""
    report = report or {}
    out = []
    for name in sorted(report.get("unreachable") or []):
        out.append("%s: not reached (unreachable or failed before it was read)" % name)
    for name, host in sorted((report.get("hosts") or {}).items()):
        if not (host.get("firewall") or {}).get("table_present"):
            out.append("%s: firewall not in force (%s)" % (name, host["firewall"].get("problem")))
        if not (host.get("time") or {}).get("synchronised"):
            out.append("%s: time not synchronised (%s)" % (name, host["time"].get("problem")))
        gpu = host.get("gpu")
        if gpu is not None and not gpu.get("gpu_count"):
            out.append("%s: no usable GPU (%s)" % (name, gpu.get("reason")))
        for problem in (gpu or {}).get("problems") or []:
            out.append("%s: GPU %s" % (name, problem))
    cluster = report.get("cluster") or {}
    if cluster.get("available"):
        for node in cluster.get("nodes") or []:
            if node["ready"] != "True":
                out.append("node %s: not ready (%s)" % (node["name"], node.get("reason")))
        for pod in cluster.get("pods_not_running") or []:
            out.append("pod %s/%s: %s" % (pod["namespace"], pod["name"], pod["reason"]))
        for cert in cluster.get("certificates") or []:
            if cert["expired"] or cert["renewal_overdue"] or cert["ready"] != "True":
                out.append("certificate %s/%s: %s, expires %s" % (
                    cert["namespace"], cert["name"], "expired" if cert["expired"] else
                    "renewal overdue" if cert["renewal_overdue"] else "not ready (%s)" % cert.get("reason"),
                    cert["not_after"]))
        if not (cluster.get("etcd_snapshots") or {}).get("latest"):
            out.append("etcd: no snapshot found")
        if not (cluster.get("backups") or {}).get("latest_completed"):
            out.append("database: no completed backup found")
    return out


def served_certificate(result, now):
    result = result or {}
    not_after, not_before = _parse_time(result.get("not_after")), _parse_time(result.get("not_before"))
    seconds_left = (not_after - now).total_seconds() if not_after else None
    return {
        "subject": result.get("subject"),
        "issuer": result.get("issuer"),
        "serial_number": result.get("serial_number"),
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_left": round(seconds_left / 86400, 1) if seconds_left is not None else None,
        "expired": seconds_left is not None and seconds_left <= 0,
        "not_yet_valid": bool(not_before and not_before > now),
    }


def _host_lines(name, host):
    lines = ["%s" % name]
    firewall = host.get("firewall") or {}
    lines.append("  firewall  %s" % (
        "table inet %s loaded, %s rules, input policy %s" % (firewall.get("table"), firewall.get("rules"),
                                                             firewall.get("input_policy"))
        if firewall.get("table_present") else "NOT IN FORCE: %s" % firewall.get("problem", "table missing")))
    time_sync = host.get("time") or {}
    lines.append("  time      %s" % (
        "synchronised to %s (stratum %s), offset %s s" % (time_sync.get("source"), time_sync.get("stratum"),
                                                          time_sync.get("offset_seconds"))
        if time_sync.get("synchronised") else "NOT SYNCHRONISED: %s" % time_sync.get("problem", "")))
    for disk in host.get("disks") or []:
        lines.append("  disk      %s %s%% used (%s of %s GiB)" % (
            disk.get("mount"), disk.get("percent"), disk.get("used_gib"), disk.get("size_gib")))
    memory = host.get("memory") or {}
    lines.append("  memory    %s%% used (%s of %s MiB); load %s" % (
        memory.get("percent"), memory.get("used_mib"), memory.get("total_mib"), host.get("load")))
    gpu = host.get("gpu")
    if gpu is not None:
        if gpu.get("gpu_count"):
            lines.append("  gpu       %s x %s, driver %s, CUDA %s; problems: %s" % (
                gpu.get("gpu_count"), ", ".join(sorted(set(gpu.get("names") or []))), gpu.get("driver_version"),
                gpu.get("cuda_version"), "; ".join(gpu.get("problems") or []) or "none"))
        else:
            lines.append("  gpu       NONE USABLE: %s" % gpu.get("reason"))
    return lines


def report_lines(report):
    report = report or {}
    lines = ["status of %s at %s" % (report.get("inventory") or "the platform", report.get("generated_at"))]
    for name in sorted(report.get("hosts") or {}):
        lines.extend(_host_lines(name, report["hosts"][name]))
    cluster = report.get("cluster") or {}
    if not cluster.get("available"):
        lines.append("cluster   NOT CHECKED: %s" % cluster.get("reason"))
        return lines
    for node in cluster.get("nodes") or []:
        usage = (" cpu %s%%, memory %s%%" % (node["cpu_percent"], node["memory_percent"]) if node.get("metrics")
                 else " (no metrics)")
        lines.append("node      %s %s %s%s%s" % (node["name"], "Ready" if node["ready"] == "True" else
                                                 "NOT READY (%s)" % node.get("reason"), node.get("version"), usage,
                                                 "; pressure: " + ", ".join(node["pressure"]) if node["pressure"]
                                                 else ""))
    pods_down = cluster.get("pods_not_running") or []
    lines.append("pods      %s" % ("all running" if not pods_down else "%d not running" % len(pods_down)))
    for pod in pods_down:
        lines.append("  %s/%s %s, restarts %s" % (pod["namespace"], pod["name"], pod["reason"], pod["restarts"]))
    for cert in cluster.get("certificates") or []:
        lines.append("cert      %s/%s ready %s, expires %s (%s days)%s" % (
            cert["namespace"], cert["name"], cert["ready"], cert["not_after"], cert["days_left"],
            " EXPIRED" if cert["expired"] else ""))
    snapshot = (cluster.get("etcd_snapshots") or {}).get("latest")
    lines.append("etcd      %s" % ("last snapshot %s, %s ago" % (snapshot["name"], snapshot["age"]) if snapshot
                                   else "NO SNAPSHOT FOUND"))
    backup = (cluster.get("backups") or {}).get("latest_completed")
    lines.append("database  %s" % ("last backup %s, %s ago" % (backup["name"], backup["age"]) if backup
                                   else "NO COMPLETED BACKUP FOUND"))
    return lines


def day2_summary(data, kind, now=None, metrics=None):
    moment = _now(now)
    if kind == "nodes":
        return nodes(data, metrics)
    if kind == "pods":
        return pods(data)
    if kind == "certificates":
        return certificates(data, moment)
    if kind == "acme":
        return acme(data)
    if kind == "etcd_snapshots":
        return etcd_snapshots(data, moment)
    if kind == "backups":
        return backups(data, moment)
    if kind == "hpa":
        return hpa(data)
    if kind == "xid":
        return xid(data)
    if kind == "cpu_stat":
        return cpu_stat(data)
    if kind == "served_certificate":
        return served_certificate(data, moment)
    if kind == "report_lines":
        return report_lines(data)
    if kind == "events":
        return events(data)
    if kind == "endpoints":
        return endpoints(data)
    if kind == "disks":
        return disks(data)
    if kind == "problems":
        return problems(data)
    raise AnsibleFilterError("day2_summary: unknown kind %r" % (kind,))


class FilterModule:
    def filters(self):
        return {"day2_summary": day2_summary}
