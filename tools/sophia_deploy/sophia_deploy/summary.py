# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""The per-host outcome of a run: a table for people, JSON and JUnit XML for machines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

# Ansible's PLAY RECAP names (playbook_on_stats) -> the names this tool shows.
STATS = (("ok", "ok"), ("changed", "changed"), ("failures", "failed"), ("dark", "unreachable"),
         ("skipped", "skipped"), ("rescued", "rescued"), ("ignored", "ignored"))
COLUMNS = ("ok", "changed", "failed", "unreachable", "skipped")


def host_stats(stats):
    """{host: {ok, changed, failed, unreachable, skipped, rescued, ignored}} from playbook_on_stats data.

    As in Ansible's PLAY RECAP, ``ok`` includes the tasks that changed something.
    """
    stats = stats or {}
    hosts = set()
    for key, _name in STATS:
        hosts.update(stats.get(key) or {})
    hosts.update(stats.get("processed") or {})
    return {host: {name: int((stats.get(key) or {}).get(host, 0)) for key, name in STATS} for host in sorted(hosts)}


def build(meta, stats, failures):
    """The summary document: ``meta`` (run facts) plus hosts with their counts and failed tasks."""
    hosts = host_stats(stats)
    for host, counts in hosts.items():
        counts["problems"] = failures.get(host, [])
    summary = dict(meta)
    summary["hosts"] = hosts
    summary["failed_hosts"] = sorted(host for host, counts in hosts.items() if counts["failed"])
    summary["unreachable_hosts"] = sorted(host for host, counts in hosts.items() if counts["unreachable"])
    return summary


def table(summary):
    """The per-host table, one line per host."""
    hosts = summary["hosts"]
    width = max([len("host")] + [len(host) for host in hosts])
    lines = ["%-*s  %s" % (width, "host", "  ".join("%11s" % column for column in COLUMNS))]
    for host, counts in hosts.items():
        lines.append("%-*s  %s" % (width, host, "  ".join("%11d" % counts[column] for column in COLUMNS)))
    if not hosts:
        lines.append("(no host ran a task)")
    return "\n".join(lines)


def write_json(summary, path):
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def junit(summary):
    """JUnit XML: one testsuite for the run, one testcase per host; failed or unreachable is a failure."""
    name = "sophia-deploy %s %s" % (summary["environment"], summary["playbook"])
    hosts = summary["hosts"]
    bad = [host for host, counts in hosts.items() if counts["failed"] or counts["unreachable"]]
    suite = ET.Element("testsuite", name=name, tests=str(len(hosts)), failures=str(len(bad)), errors="0",
                       skipped="0", time="%.3f" % summary.get("duration_s", 0.0))
    for host, counts in hosts.items():
        case = ET.SubElement(suite, "testcase", classname="sophia-deploy.%s" % summary["environment"], name=host)
        if host in bad:
            kinds = [kind for kind in ("failed", "unreachable") if counts[kind]]
            failure = ET.SubElement(case, "failure", type=" ".join(kinds),
                                    message="%s on %s: %s" % (summary["playbook"], host, ", ".join(
                                        "%s=%d" % (kind, counts[kind]) for kind in kinds)))
            failure.text = "\n".join("%s %s: %s" % (problem["status"], problem["task"], problem["msg"])
                                     for problem in counts["problems"])
        out = ET.SubElement(case, "system-out")
        out.text = " ".join("%s=%d" % (column, counts[column]) for column in COLUMNS)
    root = ET.Element("testsuites", name=name, tests=suite.get("tests"), failures=suite.get("failures"))
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(summary, path):
    path.write_text(junit(summary))
