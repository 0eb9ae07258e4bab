# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Lookup: ansible.builtin.template's lookup, with the variables copied shallowly."""

from __future__ import annotations

DOCUMENTATION = r"""
name: template
author: Sophia platform team (@sophia-platform)
version_added: 0.2.0
short_description: Render a template file on the controller like ansible.builtin.template's lookup, faster
description:
  - Renders each template file named and returns the text, exactly as the
    P(ansible.builtin.template#lookup) lookup of the installed ansible-core does, since it runs that
    lookup's own code. The search path (the role's C(templates/) first), the variables,
    C(template_path), C(ansible_managed) and the options are the same.
  - The one difference is how the host's variables are copied before rendering. ansible-core's lookup
    deep-copies all of them, which in ansible-core 2.19 costs about 0.05 s of controller CPU per call
    and host once the roles of a play have registered their results (measured with C(py-spy) on a
    16-host C(site.yml) run; see the collection's README, Speed). This lookup copies them shallowly,
    as the P(ansible.builtin.template#module) action does, so a template must not change the
    variables it reads (none of this collection's templates do).
options:
  _terms:
    description: Template files to render, found like ansible.builtin.template's lookup finds them.
    type: list
    elements: str
    required: true
  convert_data:
    description: Unused since ansible-core 2.19; accepted for compatibility, as by ansible.builtin.template.
    type: bool
  template_vars:
    description: Extra variables for the templates, on top of the host's.
    type: dict
    default: {}
  jinja2_native:
    description: Unused since ansible-core 2.19; accepted for compatibility, as by ansible.builtin.template.
    type: bool
  variable_start_string:
    description: The string marking the beginning of a print statement.
    type: str
    default: "{{"
  variable_end_string:
    description: The string marking the end of a print statement.
    type: str
    default: "}}"
  comment_start_string:
    description: The string marking the beginning of a comment statement.
    type: str
    default: "{#"
  comment_end_string:
    description: The string marking the end of a comment statement.
    type: str
    default: "#}"
  trim_blocks:
    description: Whether the first newline after a block is removed.
    type: bool
    default: true
notes:
  - Use it wherever ansible.builtin.template's lookup would be used; the output is the same.
"""

EXAMPLES = r"""
- name: Write the chrony configuration rendered on the controller
  ansible.builtin.copy:
    dest: /etc/chrony/chrony.conf
    content: "{{ lookup('sophia.platform.template', 'chrony.conf.j2') }}"
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: The rendered text of each template.
  type: list
  elements: str
"""

from ansible.plugins.lookup.template import LookupModule as BuiltinTemplateLookup


class CopiedShallowly(dict):
    """The host's variables, which deepcopy() copies one level deep, like dict.copy()."""

    def __deepcopy__(self, memo):
        return dict(self)


class LookupModule(BuiltinTemplateLookup):
    """ansible.builtin.template's lookup, handed variables that copy shallowly."""

    def run(self, terms, variables=None, **kwargs):
        return super().run(terms, variables=CopiedShallowly(variables or {}), **kwargs)
