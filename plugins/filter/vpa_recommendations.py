# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filter: the Vertical Pod Autoscaler's recommendations, one line per container, for the status report."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vpa_recommendations
author: Sophia platform team
version_added: 0.1.0
short_description: Summarise VerticalPodAutoscaler recommendations
description:
  - Turns VerticalPodAutoscaler objects (as C(kubernetes.core.k8s_info) returns them) into one line per container
    with the update mode, the target it recommends, and its bounds; objects without a recommendation yet say so.
options:
  _input:
    description: VerticalPodAutoscaler objects.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Show what the VPA recommends
  ansible.builtin.debug:
    msg: "{{ vpas.resources | sophia.platform.vpa_recommendations }}"
"""

RETURN = r"""
_value:
  description: One line per VerticalPodAutoscaler container recommendation.
  type: list
  elements: str
"""


def _quantities(values):
    return ", ".join("%s %s" % (key, values[key]) for key in sorted(values or {})) or "-"


def vpa_recommendations(vpas):
    lines = []
    for vpa in vpas or []:
        name = vpa.get("metadata", {}).get("name", "?")
        mode = ((vpa.get("spec") or {}).get("updatePolicy") or {}).get("updateMode", "Recreate")
        containers = (((vpa.get("status") or {}).get("recommendation") or {}).get("containerRecommendations")) or []
        if not containers:
            lines.append("%s (%s): no recommendation yet" % (name, mode))
        for container in containers:
            lines.append("%s/%s (%s): target %s; bounds %s .. %s" % (
                name, container.get("containerName", "?"), mode, _quantities(container.get("target")),
                _quantities(container.get("lowerBound")), _quantities(container.get("upperBound"))))
    return lines


class FilterModule:
    def filters(self):
        return {"vpa_recommendations": vpa_recommendations}
