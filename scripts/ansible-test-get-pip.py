"""Stand-in for the get-pip.py bootstrap script ansible-test downloads.

ansible-test fetches get-pip.py from a host that is not reachable everywhere
this project is tested; its own error message says the script may be saved to
its cache by hand. This one installs pip from the pip wheel that
scripts/test.sh downloads from PyPI next to it, passing on ansible-test's
arguments (the options for setuptools and wheel are get-pip.py's own, not pip's).
"""

import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = sorted(glob.glob(os.path.join(HERE, "pip-*-py3-none-any.whl")))
if not WHEELS:
    sys.exit("no pip wheel next to %s: run scripts/test.sh sanity" % __file__)

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
command = [sys.executable, os.path.join(WHEELS[-1], "pip"), "install", "--ignore-installed",
           "--find-links", HERE] + args
sys.exit(subprocess.call(command))
