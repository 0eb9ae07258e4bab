"""Makes the checkout importable as ansible_collections.sophia.platform.

The committed link .collections/ansible_collections/sophia/platform points at
the repository root, so tests import the collection's code exactly as Ansible
resolves it, without installing anything.
"""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO / ".collections") not in sys.path:
    sys.path.insert(0, str(REPO / ".collections"))
