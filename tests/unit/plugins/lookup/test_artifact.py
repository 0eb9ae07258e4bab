# -*- coding: utf-8 -*-
"""The artifact lookup reads the collection's manifest and names what exists when a key does not."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible.errors import AnsibleLookupError
from ansible_collections.sophia.platform.plugins.lookup import artifact
from ansible.plugins.loader import lookup_loader


def _lookup():
    return lookup_loader.get("sophia.platform.artifact")


def test_reads_the_collections_manifest():
    (entry,) = _lookup().run(["charts", "kube-prometheus-stack"], variables={})
    with open(artifact.MANIFEST) as handle:
        assert entry == yaml.safe_load(handle)["charts"]["kube-prometheus-stack"]
    assert "88.5.3" in entry["versions"]


def test_missing_key_names_the_known_ones():
    with pytest.raises(AnsibleLookupError) as err:
        _lookup().run(["charts", "grafana"], variables={})
    assert "charts has no entry 'grafana'" in str(err.value)
    assert "kube-prometheus-stack" in str(err.value)


def test_other_manifest_file(tmp_path):
    path = tmp_path / "artifacts.yml"
    path.write_text("charts:\n  demo:\n    versions:\n      '1.0.0': {}\n")
    assert _lookup().run(["charts", "demo", "versions"], variables={}, file=str(path)) == [{"1.0.0": {}}]
    with pytest.raises(AnsibleLookupError, match="versions has no entry '2.0.0'"):
        _lookup().run(["charts", "demo", "versions", "2.0.0"], variables={}, file=str(path))


def test_unreadable_manifest(tmp_path):
    with pytest.raises(AnsibleLookupError, match="cannot read the artifact manifest"):
        _lookup().run(["charts"], variables={}, file=str(tmp_path / "missing.yml"))
