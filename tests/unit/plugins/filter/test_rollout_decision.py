# -*- coding: utf-8 -*-
"""update-image.yml's rollback decision (filter rollout_decision) against recorded and constructed rollout states,
and the VPA summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import kubernetes_validate
import pytest
import yaml

from ansible_collections.sophia.platform.plugins.filter.rollout_decision import decide
from ansible_collections.sophia.platform.plugins.filter.vpa_recommendations import vpa_recommendations

ROLLOUTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "data", "rollouts")
with open(os.path.join(ROLLOUTS, "deployments.yml")) as handle:
    CASES = yaml.safe_load(handle)
RECORDED = []
for _path in sorted(glob.glob(os.path.join(ROLLOUTS, "recorded", "*.yml"))):
    with open(_path) as handle:
        RECORDED.append(yaml.safe_load(handle))
RECORDED_IDS = [case["name"] for case in RECORDED]


def test_recordings_cover_the_states_update_image_must_tell_apart():
    reasons = {condition["reason"] for case in RECORDED for condition in case["deployment"]["status"]["conditions"]}
    assert {"NewReplicaSetAvailable", "ReplicaSetUpdated", "ProgressDeadlineExceeded", "FailedCreate"} <= reasons
    assert all(case["source"].startswith("https://") for case in RECORDED)


@pytest.mark.parametrize("case", RECORDED, ids=RECORDED_IDS)
def test_recorded_decision_while_waiting(case):
    decision = decide(case["deployment"])
    assert {key: decision[key] for key in case["expect"]} == case["expect"]


@pytest.mark.parametrize("case", RECORDED, ids=RECORDED_IDS)
def test_recorded_decision_when_the_wait_is_over(case):
    decision = decide(case["deployment"], timed_out=True)
    assert {key: decision[key] for key in case["expect_timed_out"]} == case["expect_timed_out"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_constructed_states_are_valid_deployments(case):
    kubernetes_validate.validate(case["deployment"], "1.34", strict=True)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_constructed_decision_while_waiting(case):
    decision = decide(case["deployment"])
    assert {key: decision[key] for key in case["expect"]} == case["expect"], decision["reason"]
    assert decision["revision"] == "4"


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_constructed_decision_when_the_wait_is_over(case):
    decision = decide(case["deployment"], timed_out=True)
    assert {key: decision[key] for key in case["expect_timed_out"]} == case["expect_timed_out"], decision["reason"]


def test_reasons_name_what_is_missing():
    by_name = {case["name"]: case["deployment"] for case in CASES}
    assert decide(by_name["not_observed"])["reason"] == "the Deployment controller has not observed the new template yet"
    assert decide(by_name["updating"])["reason"] == "1 of 3 new replicas have been updated"
    assert decide(by_name["old_terminating"])["reason"] == "1 old replicas are pending termination"


def test_vpa_recommendations_one_line_per_container():
    vpas = [
        {"metadata": {"name": "sophia-api"}, "spec": {"updatePolicy": {"updateMode": "Off"}},
         "status": {"recommendation": {"containerRecommendations": [
             {"containerName": "backend", "target": {"cpu": "587m", "memory": "262144k"},
              "lowerBound": {"cpu": "25m", "memory": "262144k"}, "upperBound": {"cpu": "1", "memory": "1Gi"}}]}}},
        {"metadata": {"name": "mcp-slack"}, "spec": {"updatePolicy": {"updateMode": "Recreate"}}},
    ]
    assert vpa_recommendations(vpas) == [
        "sophia-api/backend (Off): target cpu 587m, memory 262144k; bounds cpu 25m, memory 262144k .. cpu 1, memory 1Gi",
        "mcp-slack (Recreate): no recommendation yet",
    ]
