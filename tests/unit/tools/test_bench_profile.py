"""scripts/bench-profile.py: the per-play profile `make bench` saves, read from a real log.

The log (tests/data/bench/profile-app-edge.log, see the README there) is the end of a real
run with ansible.posix.profile_roles and profile_tasks enabled: every task stamp is printed
twice, and profile_tasks' own TASKS RECAP at its end gives each task's time to compare with.
"""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
LOG = REPO / "tests" / "data" / "bench" / "profile-app-edge.log"
SCRIPT = REPO / "scripts" / "bench-profile.py"


@pytest.fixture(scope="module")
def profile():
    spec = importlib.util.spec_from_file_location("bench_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse(LOG.read_text().splitlines())


def test_plays_tasks_and_skips_in_run_order(profile):
    plays = profile[2]
    assert [(p["name"].split(" (")[0], len(p["tasks"]), p["skipped"]) for p in plays] == [
        ("Check the layer has hosts to configure", 1, 0),
        ("Application layer", 3, 0),
        ("Edge layer", 11, 15),
    ]


def test_each_task_time_matches_profile_tasks_own_recap(profile):
    plays = profile[2]
    recap = LOG.read_text().split("TASKS RECAP", 1)[1]
    compared = 0
    for task in (t for p in plays for t in p["tasks"]):
        found = re.findall(r"^%s -+ ([\d.]+)s$" % re.escape(task["name"]), recap, re.M)
        if len(found) == 1:  # names run twice (the layer guard) are summed in the recap
            assert task["seconds"] == pytest.approx(float(found[0]), abs=0.006), task["name"]
            compared += 1
    assert compared >= 12


def test_play_spans_and_start_up_add_up_to_the_total(profile):
    startup, total, plays = profile
    starts = [p["tasks"][0]["start"] for p in plays]
    spans = [b - a for a, b in zip(starts, starts[1:] + [total])]
    assert startup == pytest.approx(starts[0])
    assert startup + sum(spans) == pytest.approx(total)
    assert total == pytest.approx(86.265, abs=0.001)


def test_a_log_without_profile_stamps_is_refused(tmp_path):
    plain = tmp_path / "plain.log"
    plain.write_text("PLAY [x] ****\n\nTASK [y] ****\nok: [localhost]\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(plain)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "no profile_tasks timestamps" in proc.stderr
