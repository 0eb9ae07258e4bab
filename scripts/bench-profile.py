"""Where a playbook run's time goes, per play, from its log.

Reads the output of ``ansible-playbook`` run with the ``ansible.posix.profile_tasks``
callback (scripts/bench-lab.sh enables it) and prints, per play in run order: its
wall time (from its first task's start to the next play's), its task count, how
many task results were skipped, and its slowest tasks. Time before the first task
(inventory, parsing) is printed as start-up.

    .venv/bin/python scripts/bench-profile.py LOG [--top 3]
"""

from __future__ import annotations

import argparse
import re
import sys

# profile_tasks: "Monday 30 November 2026  02:00:21 +0000 (0:00:00.186)       0:00:34.329 ****"
STAMP = re.compile(r"^\w+ \d+ \w+ \d{4} +[\d:]+ [+-]\d{4} \(\d+:\d+:[\d.]+\) +(\d+):(\d+):([\d.]+)")
PLAY = re.compile(r"^PLAY \[(.*)\] \*+")
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\] \*+")
SKIP = re.compile(r"^skipping: ")


def seconds(hours: str, minutes: str, secs: str) -> float:
    """The profile_tasks H:MM:SS.fff fields as seconds."""
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


def parse(lines: list[str]) -> tuple[float, float, list[dict]]:
    """Start-up seconds, total seconds and the plays, each with its tasks' durations."""
    plays: list[dict] = []
    task: dict | None = None  # the task whose banner came last
    running: dict | None = None  # the task whose time is running
    last_total = None
    startup = 0.0
    after_stamp = False
    for line in lines:
        stamp = STAMP.match(line)
        if stamp:
            if after_stamp:  # profile_roles prints the same stamp again
                continue
            after_stamp = True
            total = seconds(*stamp.group(1, 2, 3))
            # A stamp closes the task before it. Its time is the difference of the running
            # totals: the parenthesised delta is since the callback's own last print, which
            # another callback's output can shift.
            if running is not None:
                running["seconds"] = round(total - running["start"], 3)
                running = None
            elif last_total is None:
                startup = total
            if task is not None and task["start"] is None:
                task["start"] = total
                running = task
            last_total = total
            continue
        after_stamp = False
        play = PLAY.match(line)
        if play:
            plays.append({"name": play.group(1), "tasks": [], "skipped": 0})
            task = None
            continue
        match = TASK.match(line)
        if match and plays:
            task = {"name": match.group(1), "start": None, "seconds": None}
            plays[-1]["tasks"].append(task)
            continue
        if SKIP.match(line) and plays:
            plays[-1]["skipped"] += 1
    return startup, last_total or 0.0, plays


def main() -> int:
    """Print the per-play profile of one log."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--top", type=int, default=3, help="slowest tasks listed per play")
    args = parser.parse_args()
    with open(args.log, encoding="utf-8", errors="replace") as handle:
        startup, total, plays = parse(handle.read().splitlines())
    if total == 0.0:
        print(f"{args.log}: no profile_tasks timestamps", file=sys.stderr)
        return 1
    starts = [next((t["start"] for t in p["tasks"] if t["start"] is not None), None) for p in plays]
    print(f"{'seconds':>8}  {'tasks':>5}  {'skips':>5}  play / slowest tasks")
    print(f"{startup:8.1f}  {'':>5}  {'':>5}  (before the first task: start-up, inventory, parsing)")
    for index, play in enumerate(plays):
        start = starts[index]
        later = [s for s in starts[index + 1:] if s is not None]
        span = 0.0 if start is None else (later[0] if later else total) - start
        print(f"{span:8.1f}  {len(play['tasks']):5d}  {play['skipped']:5d}  {play['name']}")
        timed = sorted((t for t in play["tasks"] if t["seconds"] is not None), key=lambda t: -t["seconds"])
        for item in timed[:args.top]:
            print(f"{'':8}  {'':5}  {'':5}    {item['seconds']:5.2f} {item['name']}")
    print(f"{total:8.1f}  total (profile_tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
