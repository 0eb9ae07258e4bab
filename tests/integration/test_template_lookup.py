# -*- coding: utf-8 -*-
"""sophia.platform.template renders exactly what ansible.builtin.template's lookup renders.

Both lookups render the same templates in one ansible-playbook run on this machine (connection
local): host variables, registered results, template_vars, an include from the search path,
template_path, ansible_managed and changed delimiters. The outputs must be identical, and the
variables handed to the builtin lookup's code must be copied one level deep, not deep-copied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")

TEMPLATE = """{# a comment #}
host {{ inventory_hostname }}, greeting {{ greeting }}, extra {{ extra | default('none') }}
{% for peer in peers | sort %}
peer {{ peer }} {{ probe.stat.exists }}
{% endfor %}
{% include 'included.j2' %}
path {{ template_path | basename }}; managed {{ ansible_managed | length > 0 }}
"""
INCLUDED = "included: {{ peers | length }} peers\n"
DELIMITED = "[[ greeting ]] {{ not a variable }}\n"


@pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")
def test_both_lookups_render_the_same_text(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "main.j2").write_text(TEMPLATE)
    (templates / "included.j2").write_text(INCLUDED)
    (templates / "delimited.j2").write_text(DELIMITED)
    renders = {
        "plain": "'main.j2'",
        "template_vars": "'main.j2', template_vars={'extra': 42}",
        "delimiters": "'delimited.j2', variable_start_string='[[', variable_end_string=']]'",
    }
    tasks = [{"name": "Register a result", "ansible.builtin.stat": {"path": str(tmp_path)}, "register": "probe"}]
    for name, arguments in renders.items():
        for lookup in ("ansible.builtin.template", "sophia.platform.template"):
            tasks.append({"name": "Render %s with %s" % (name, lookup), "ansible.builtin.copy": {
                "dest": str(tmp_path / ("%s-%s.txt" % (name, lookup))), "mode": "0600",
                "content": "{{ lookup('%s', %s) }}" % (lookup, arguments)}})
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render with both lookups", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"greeting": "hello", "peers": ["b", "a", "c"]}, "tasks": tasks,
    }]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        [PLAYBOOK, "-i", "localhost,", str(playbook), "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in renders:
        builtin = (tmp_path / ("%s-ansible.builtin.template.txt" % name)).read_text()
        ours = (tmp_path / ("%s-sophia.platform.template.txt" % name)).read_text()
        assert ours == builtin
    assert "peer a True" in (tmp_path / "plain-ansible.builtin.template.txt").read_text()
    assert "extra 42" in (tmp_path / "template_vars-sophia.platform.template.txt").read_text()
    assert (tmp_path / "delimiters-sophia.platform.template.txt").read_text().startswith("hello {{ not a variable }}")


def test_the_variables_are_copied_one_level_deep():
    from ansible_collections.sophia.platform.plugins.lookup.template import CopiedShallowly

    registered = {"results": [{"item": n} for n in range(3)]}
    variables = CopiedShallowly({"probe": registered, "name": "x"})
    copied = copy.deepcopy(variables)
    assert copied == variables and copied is not variables
    assert copied["probe"] is registered
    copied["name"] = "changed"
    assert variables["name"] == "x"
