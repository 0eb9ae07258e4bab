# Copyright: Sophia platform team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pinned CRD schemas made strict, as the manifest tests validate custom resources against them."""

from __future__ import annotations

import copy


def strict(schema):
    """Forbid unknown fields where the API server would prune them silently."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema
