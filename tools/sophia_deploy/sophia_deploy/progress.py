# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""One line per task from ansible-runner's events, and what failed where.

Nothing of a result that Ansible censored (``no_log: true``) is ever shown: the
runner's event then carries only the ``censored`` marker, and this module shows
the marker's meaning instead of any field of the result.
"""

from __future__ import annotations

HIDDEN = "(output hidden: no_log)"
COUNTERS = ("ok", "changed", "failed", "skipped", "unreachable", "ignored")
TASK_START = ("playbook_on_task_start", "playbook_on_handler_task_start")
# Events after which no more results of the current task can come.
TASK_END = TASK_START + ("playbook_on_play_start", "playbook_on_stats")
MESSAGE_WIDTH = 160


def is_censored(res):
    """True when Ansible hid this result (no_log)."""
    return not isinstance(res, dict) or "censored" in res or bool(res.get("_ansible_no_log"))


def one_line(text, width=MESSAGE_WIDTH):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def result_message(res):
    """A failure's message in one line, or HIDDEN for a no_log result."""
    if is_censored(res):
        return HIDDEN
    for key in ("msg", "stderr", "reason"):
        if res.get(key):
            return one_line(res[key])
    return "(no message)"


def task_label(data):
    """``role : task`` as Ansible prints it, or the task's name alone."""
    name = data.get("task") or data.get("name") or "(unnamed task)"
    return "%s : %s" % (data["role"], name) if data.get("role") else name


class Progress:
    """An ansible-runner event_handler: prints a line when a task ends, keeps failures per host."""

    def __init__(self, out):
        self.out = out
        self.task = None
        self.counts = {}
        self.problems = []
        # host -> [{"task": ..., "status": "failed"|"unreachable", "msg": ...}]
        self.failures = {}
        # The playbook_on_stats data: Ansible's PLAY RECAP counts per host.
        self.stats = None
        # Host results seen: once a task has run, ansible-core 2.19 may have written a
        # no_log task's failure message into its stdout, so stdout is no longer shown.
        self.results_seen = 0

    def __call__(self, event):
        self.handle(event)
        return True  # keep the event in the runner's artifacts

    def handle(self, event):
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind in TASK_END:
            self.finish_task()
        if kind in TASK_START:
            self.task = task_label(data)
        elif kind == "playbook_on_stats":
            self.stats = data
        elif kind == "playbook_on_play_start":
            self.write("PLAY %s" % (data.get("play") or data.get("name") or data.get("pattern", "")))
        elif kind.startswith("runner_on_") and not kind.startswith("runner_on_start"):
            self.record(kind[len("runner_on_"):], data)

    def record(self, status, data):
        self.results_seen += 1
        host = data.get("host", "?")
        res = data.get("res") or {}
        if status == "ok":
            # Ansible keeps `changed` in a censored result; it is no secret.
            self.bump("changed" if isinstance(res, dict) and res.get("changed") else "ok")
        elif status == "failed" and data.get("ignore_errors"):
            self.bump("ignored")
        elif status in ("failed", "unreachable", "async_failed"):
            status = "unreachable" if status == "unreachable" else "failed"
            self.bump(status)
            message = result_message(res)
            self.problems.append("  %-11s %s: %s" % (status, host, message))
            self.failures.setdefault(host, []).append(
                {"task": task_label(data), "status": status, "msg": message})
        elif status == "skipped":
            self.bump("skipped")

    def bump(self, counter):
        self.counts[counter] = self.counts.get(counter, 0) + 1

    def finish_task(self):
        if self.task is not None:
            counts = " ".join("%s=%d" % (name, self.counts[name]) for name in COUNTERS if self.counts.get(name))
            self.write("  %s ... %s" % (self.task, counts or "no hosts"))
            for line in self.problems:
                self.write(line)
        self.task, self.counts, self.problems = None, {}, []

    def write(self, line):
        self.out.write(line + "\n")
        self.out.flush()
