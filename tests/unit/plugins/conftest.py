"""Fixtures for the Lambda Cloud plugin and module tests (sophia.platform).

Makes ``ansible_collections.sophia.platform`` importable from the checkout (through the
committed ``.collections`` link) and ``lambda_fake`` from ``tests/``.
"""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
for _path in (REPO / ".collections", REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

# The Ansible collection loader, as ansible-test units installs it, so plugin loaders resolve
# sophia.platform.* by FQCN (and read the plugins' documented options).
if not any(isinstance(f, _AnsibleCollectionFinder) for f in sys.meta_path):
    _AnsibleCollectionFinder(paths=[str(REPO / ".collections")])._install()

from lambda_fake import FakeLambda  # noqa: E402


@pytest.fixture
def fake():
    """A fake Lambda API on 127.0.0.1; fails the test if it ever answered off-spec."""
    api = FakeLambda()
    api.start()
    try:
        yield api
    finally:
        api.stop()
    assert api.schema_errors == [], "fake API answered off the OpenAPI schema: %r" % api.schema_errors
    assert api.request_errors == [], "a request body did not match the OpenAPI schema: %r" % api.request_errors


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sleeps(clock):
    """The sleeps a client asked for (none of them real)."""
    return clock.sleeps


@pytest.fixture
def make_client(fake, clock):
    from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import LambdaCloudClient

    def _make(**kwargs):
        args = dict(api_key=fake.api_key, api_url=fake.base_url, sleep=clock.sleep, clock=clock,
                    read_timeout=5, retries=3, launch_interval=0)
        args.update(kwargs)
        return LambdaCloudClient(**args)

    return _make


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get("failed"))


@pytest.fixture
def run_module(fake, capsys, monkeypatch):
    """Run a module's main() in-process against the fake and return its JSON result."""
    from ansible.module_utils.testing import patch_module_args

    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    monkeypatch.delenv("LAMBDA_API_URL", raising=False)

    from ansible.utils.display import Display

    warnings = []
    # In this (controller) process module.warn() goes to Display instead of the result.
    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **kw: warnings.append(msg))

    def _run(module, args, check_mode=False, diff=False, auth=True):
        del warnings[:]
        full = dict(args)
        if auth:
            full.setdefault("api_key", fake.api_key)
            full.setdefault("api_url", fake.base_url)
        full["_ansible_check_mode"] = check_mode
        full["_ansible_diff"] = diff
        capsys.readouterr()
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                module.main()
        out = capsys.readouterr().out
        result = ModuleResult(json.loads(out))
        result.setdefault("warnings", [])
        result["warnings"] = list(result["warnings"]) + list(warnings)
        return result

    return _run
