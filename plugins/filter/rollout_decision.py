# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: decide what a Deployment's rollout needs, from the Deployment as the Kubernetes API returns it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rollout_decision
author: Sophia platform team
version_added: 0.1.0
short_description: Decide whether a Deployment's rollout is complete, still progressing, or must be rolled back
description:
  - Reads a Deployment object as the Kubernetes API returns it (C(kubernetes.core.k8s_info)), in the same order of
    checks as C(kubectl rollout status), and returns C(complete), C(progressing) or C(failed) with the reason.
  - C(failed) when the Deployment controller reports C(ProgressDeadlineExceeded), or when the caller's wait for
    readiness is over (O(timed_out)) while the rollout still progresses.
  - Also returns the revision the Deployment runs (annotation C(deployment.kubernetes.io/revision)).
options:
  _input:
    description: The Deployment object (C(metadata), C(spec), C(status)).
    type: dict
    required: true
  timed_out:
    description: The caller's wait for the rollout is over.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Roll back when the rollout failed or readiness did not come in time
  ansible.builtin.debug:
    msg: "{{ (deployment | sophia.platform.rollout_decision(timed_out=true)).state }}"
"""

RETURN = r"""
_value:
  description: C(state) (complete, progressing or failed), C(rollback) (bool), C(reason) and C(revision).
  type: dict
"""

REVISION = "deployment.kubernetes.io/revision"


def _condition(status, kind):
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def decide(deployment, timed_out=False):
    """What the rollout needs: the state, whether to roll back, and why."""
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    revision = (metadata.get("annotations") or {}).get(REVISION)
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)

    if metadata.get("generation", 0) > status.get("observedGeneration", 0):
        state, reason = "progressing", "the Deployment controller has not observed the new template yet"
    elif (_condition(status, "Progressing") or {}).get("reason") == "ProgressDeadlineExceeded":
        state, reason = "failed", "progress deadline exceeded: %s" % (_condition(status, "Progressing").get("message") or "")
    elif updated < wanted:
        state, reason = "progressing", "%d of %d new replicas have been updated" % (updated, wanted)
    elif total > updated:
        state, reason = "progressing", "%d old replicas are pending termination" % (total - updated)
    elif available < updated:
        state, reason = "progressing", "%d of %d updated replicas are available" % (available, updated)
    else:
        state, reason = "complete", "%d of %d updated replicas are available" % (available, updated)
    if state == "progressing" and timed_out:
        state, reason = "failed", "readiness did not come in time: " + reason
    return {"state": state, "rollback": state == "failed", "reason": reason.strip(), "revision": revision}


def rollout_decision(deployment, timed_out=False):
    return decide(deployment, timed_out=timed_out)


class FilterModule:
    def filters(self):
        return {"rollout_decision": rollout_decision}
