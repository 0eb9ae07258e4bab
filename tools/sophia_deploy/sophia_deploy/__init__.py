# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""sophia-deploy: run one playbook of sophia.platform against one environment through ansible-runner."""
