"""Unit tests of vercel_project_env and vercel_domain against the fake Vercel REST API."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sophia.platform.plugins.modules import vercel_domain, vercel_project_env
from vercel_fake import FakeVercel

TEAM = "team_sophiatest"
SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def vc():
    api = FakeVercel(teams=(TEAM,))
    api.start()
    api.project = api.add_project("sophia-frontend", team=TEAM)
    yield api
    api.stop()


@pytest.fixture
def run(vc, capsys, monkeypatch):
    from ansible.module_utils.testing import patch_module_args

    for var in ("VERCEL_TOKEN", "VERCEL_TEAM_ID", "VERCEL_API_URL"):
        monkeypatch.delenv(var, raising=False)
    warnings = []
    from ansible.utils.display import Display

    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **kw: warnings.append(msg))

    def _run(module, args, check_mode=False, diff=False, auth=True):
        del warnings[:]
        full = dict(project="sophia-frontend")
        full.update(args)
        if auth:
            full.setdefault("token", vc.token)
            full.setdefault("team_id", TEAM)
            full.setdefault("api_url", vc.base_url)
        full.setdefault("api_retries", 1)
        full["_ansible_check_mode"] = check_mode
        full["_ansible_diff"] = diff
        capsys.readouterr()
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                module.main()
        out = json.loads(capsys.readouterr().out)
        out["_warnings"] = list(out.get("warnings", [])) + list(warnings)
        out["_raw"] = json.dumps(out)
        return out

    return _run


def env_args(**kw):
    args = dict(key="VITE_API_URL", value="https://api.sophia-intel.ai", type="plain", targets=["production"])
    args.update(kw)
    return args


# -- vercel_project_env ------------------------------------------------------------------------

def test_env_create_noop_update_with_diff(vc, run):
    res = run(vercel_project_env, env_args(), diff=True)
    assert res["changed"] and res["env"]["targets"] == ["production"] and res["diff"]["before"] == {}
    (env,) = vc.envs(vc.project, "VITE_API_URL")
    assert env["value"] == "https://api.sophia-intel.ai" and env["type"] == "plain"
    assert not run(vercel_project_env, env_args())["changed"]
    assert len(vc.mutations()) == 1
    res = run(vercel_project_env, env_args(value="https://api2.sophia-intel.ai"), diff=True)
    assert res["changed"] and res["value_compared"]
    assert res["diff"]["before"]["value"] == "https://api.sophia-intel.ai"
    # value is a no_log option: Ansible masks the new value wherever it would appear
    assert res["diff"]["after"]["value"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "https://api2.sophia-intel.ai" not in res["_raw"]
    assert vc.envs(vc.project, "VITE_API_URL")[0]["value"] == "https://api2.sophia-intel.ai"
    assert vc.mutations()[-1][0] == "PATCH"


def test_plain_value_shown_and_value_masked(vc, run):
    res = run(vercel_project_env, dict(key="VITE_ENVIRONMENT", plain_value="prod", type="plain",
                                       targets=["production"]), diff=True)
    assert res["changed"] and res["diff"]["after"] == {"key": "VITE_ENVIRONMENT", "type": "plain",
                                                       "targets": ["production"], "value": "prod"}
    assert res["env"]["value"] == "prod"
    res = run(vercel_project_env, dict(key="VITE_ENVIRONMENT", plain_value="staging", type="plain",
                                       targets=["production"]), diff=True)
    assert res["changed"] and (res["diff"]["before"]["value"], res["diff"]["after"]["value"]) == ("prod", "staging")
    res = run(vercel_project_env, dict(key="X", plain_value="v", type="encrypted", targets=["production"]))
    assert res.get("failed") and "plain_value is for type=plain" in res["msg"]
    res = run(vercel_project_env, dict(key="X", plain_value="v1", value="some-secret", type="plain",
                                       targets=["production"]))
    assert res.get("failed") and "mutually exclusive" in res["msg"]
    assert [r[0] for r in vc.requests if r[0] != "GET"] == ["POST", "PATCH"]


def test_env_one_key_per_target(vc, run):
    run(vercel_project_env, env_args())
    res = run(vercel_project_env, env_args(value="https://api.staging.sophia-intel.ai", targets=["preview"]))
    assert res["changed"]
    values = sorted((e["target"][0], e["value"]) for e in vc.envs(vc.project, "VITE_API_URL"))
    assert values == [("preview", "https://api.staging.sophia-intel.ai"), ("production", "https://api.sophia-intel.ai")]


def test_env_overlapping_targets_refused(vc, run):
    vc.add_env(vc.project, "VITE_API_URL", "x", "plain", ["production", "preview"])
    res = run(vercel_project_env, env_args())
    assert res.get("failed") and "preview,production" in res["msg"] and vc.mutations() == []


def test_env_encrypted_compared_after_decrypt_and_hidden_in_diff(vc, run):
    res = run(vercel_project_env, env_args(key="API_SECRET", value=SECRET, type="encrypted"), diff=True)
    assert res["changed"] and res["diff"]["after"]["value"] == "<hidden>"
    res = run(vercel_project_env, env_args(key="API_SECRET", value=SECRET, type="encrypted"), diff=True)
    assert not res["changed"] and res["value_compared"]
    res = run(vercel_project_env, env_args(key="API_SECRET", value="other", type="encrypted"), diff=True)
    assert res["changed"] and res["diff"]["after"]["value"] == "<hidden, changed>"
    assert SECRET not in res["_raw"] and '"other"' not in res["_raw"]


def test_env_sensitive_never_shown_and_update_policy(vc, run):
    res = run(vercel_project_env, env_args(key="TOKEN", value=SECRET, type="sensitive"), diff=True)
    assert res["changed"] and "value" not in res["diff"]["after"] and SECRET not in res["_raw"]
    # The value cannot be read back: on_create leaves it, always rewrites it.
    res = run(vercel_project_env, env_args(key="TOKEN", value="new-value", type="sensitive"), diff=True)
    assert not res["changed"] and res["value_compared"] is False
    assert vc.envs(vc.project, "TOKEN")[0]["value"] == SECRET
    res = run(vercel_project_env, env_args(key="TOKEN", value="new-value", type="sensitive", update="always"),
              diff=True)
    assert res["changed"] and "value" not in res["diff"]["after"] and "new-value" not in res["_raw"]
    assert vc.envs(vc.project, "TOKEN")[0]["value"] == "new-value"


def test_env_type_change_is_a_change(vc, run):
    run(vercel_project_env, env_args())
    res = run(vercel_project_env, env_args(type="encrypted"))
    assert res["changed"] and vc.envs(vc.project, "VITE_API_URL")[0]["type"] == "encrypted"


def test_env_check_mode_changes_nothing(vc, run):
    res = run(vercel_project_env, env_args(), check_mode=True, diff=True)
    assert res["changed"] and res["env"]["id"] is None and vc.mutations() == []
    vc.add_env(vc.project, "VITE_API_URL", "old", "plain")
    assert run(vercel_project_env, env_args(), check_mode=True)["changed"]
    assert run(vercel_project_env, env_args(state="absent"), check_mode=True)["changed"]
    assert vc.mutations() == [] and vc.envs(vc.project, "VITE_API_URL")[0]["value"] == "old"


def test_env_delete(vc, run):
    run(vercel_project_env, env_args())
    run(vercel_project_env, env_args(targets=["preview"]))
    res = run(vercel_project_env, dict(key="VITE_API_URL", targets=["preview"], state="absent"), diff=True)
    assert res["changed"] and res["diff"]["before"][0]["targets"] == ["preview"]
    assert [e["target"] for e in vc.envs(vc.project, "VITE_API_URL")] == [["production"]]
    assert run(vercel_project_env, dict(key="VITE_API_URL", state="absent"))["changed"]
    assert vc.envs(vc.project, "VITE_API_URL") == []
    assert not run(vercel_project_env, dict(key="VITE_API_URL", state="absent"))["changed"]


def test_env_git_branch_variables_left_alone(vc, run):
    vc.add_env(vc.project, "VITE_API_URL", "branch", "plain", ["preview"], git_branch="feature-x")
    run(vercel_project_env, env_args(targets=["preview"]))
    run(vercel_project_env, dict(key="VITE_API_URL", state="absent"))
    assert [e.get("gitBranch") for e in vc.envs(vc.project, "VITE_API_URL")] == ["feature-x"]


@pytest.mark.parametrize("args,problem", [
    (env_args(targets=["staging"]), "staging"),
    (env_args(key="1BAD"), "not a valid variable name"),
    (env_args(key="BAD-NAME"), "not a valid variable name"),
    (dict(key="X", targets=["production"]), "value, plain_value"),
])
def test_env_bad_input_refused_before_any_call(vc, run, args, problem):
    res = run(vercel_project_env, args)
    assert res.get("failed") and problem in res["msg"] and vc.requests == []


@pytest.mark.parametrize("setup,args,status,code,hint", [
    (None, dict(token="wrong-token"), 403, "forbidden", "token"),
    (None, dict(team_id="team_other"), 403, "forbidden", "team_id"),
    (None, dict(team_id=""), 404, "not_found", "team_id"),
    (None, dict(project="nope"), 404, "not_found", "project"),
    (("POST", "/env$", 400, "bad_request"), {}, 400, "bad_request", None),
    (("GET", "/env$", 429, "rate_limited"), {}, 429, "rate_limited", "reset"),
    (("PATCH", "/env/", 500, "internal_server_error"), dict(value="changed"), 500, "internal_server_error",
     "failing"),
])
def test_env_api_errors(vc, run, setup, args, status, code, hint):
    if setup and setup[0] == "PATCH":
        vc.add_env(vc.project, "VITE_API_URL", "old", "plain")
    if setup:
        extra = {"limit": {"remaining": 0, "reset": 1571432075, "total": 6}} if code == "rate_limited" else None
        vc.fail_next(setup[0], setup[1], setup[2], code=setup[3], times=2, extra=extra)
    res = run(vercel_project_env, env_args(**args))
    assert res.get("failed") and res["status"] == status and res["code"] == code, res
    if hint:
        assert hint in res["hint"]
    assert "wrong-token" not in res["_raw"] and vc.token not in res["_raw"]


def test_env_conflict_reported_in_failed_list(vc, run, monkeypatch):
    # Another writer created the variable between our read and our write.
    from ansible_collections.sophia.platform.plugins.module_utils import _vercel

    original = _vercel.VercelClient.list_env
    monkeypatch.setattr(_vercel.VercelClient, "list_env", lambda self, project: [])
    vc.add_env(vc.project, "VITE_API_URL", "other", "plain")
    res = run(vercel_project_env, env_args())
    monkeypatch.setattr(_vercel.VercelClient, "list_env", original)
    assert res.get("failed") and res["code"] == "ENV_CONFLICT"


def test_env_post_not_retried_after_5xx(vc, run):
    vc.fail_next("POST", "/env$", 503, code="internal_server_error", times=1)
    res = run(vercel_project_env, env_args())
    assert res["status"] == 503
    assert len([r for r in vc.requests if r[0] == "POST"]) == 1


def test_429_retried_after_retry_after_also_for_post(vc, run):
    vc.fail_next("GET", "/env$", 429, code="rate_limited", headers={"Retry-After": "0"})
    vc.fail_next("POST", "/env$", 429, code="rate_limited", headers={"Retry-After": "0"})
    res = run(vercel_project_env, env_args())
    assert res["changed"] and not res.get("failed")
    assert len([r for r in vc.requests if r[0] == "POST"]) == 2 and len(vc.envs(vc.project)) == 1


def test_read_timeout_get_retried_post_not(vc, run):
    # Timeouts wide enough that a loaded machine answers the normal requests in time.
    vc.fail_next("GET", "/env$", 200, delay=4.0)
    res = run(vercel_project_env, env_args(api_timeout=1.5))
    assert res["changed"] and len([r for r in vc.requests if r[1].endswith("/env") and r[0] == "GET"]) == 2
    vc.fail_next("POST", "/env$", 200, delay=4.0)
    res = run(vercel_project_env, env_args(key="OTHER", api_timeout=1.5))
    assert res.get("failed") and res["code"] == "client/timeout" and "check the current state" in res["hint"]
    # The slow POST went through on the server: repeating it could have acted twice.
    assert len([r for r in vc.requests if r[0] == "POST"]) == 2


def test_env_token_from_environment_and_insecure_url(vc, run, monkeypatch):
    res = run(vercel_project_env, env_args(api_url=vc.base_url), auth=False)
    assert res["code"] == "client/missing-token" and "VERCEL_TOKEN" in res["msg"]
    monkeypatch.setenv("VERCEL_TOKEN", vc.token)
    monkeypatch.setenv("VERCEL_TEAM_ID", TEAM)
    monkeypatch.setenv("VERCEL_API_URL", vc.base_url)
    assert run(vercel_project_env, env_args(), auth=False)["changed"]
    assert all(r[2].get("teamId") == TEAM for r in vc.requests)
    res = run(vercel_project_env, env_args(api_url="http://api.vercel.com"))
    assert res["code"] == "client/insecure-url"


# -- vercel_domain --------------------------------------------------------------------------------

def test_domain_attach_unverified_reports_challenge(vc, run):
    res = run(vercel_domain, dict(name="app.sophia-intel.ai"), diff=True)
    assert res["changed"] and res["domain"]["verified"] is False
    (challenge,) = res["domain"]["verification"]
    assert challenge["type"] == "TXT" and challenge["domain"] == "_vercel.sophia-intel.ai"
    assert any("not verified" in w for w in res["_warnings"])
    after = {"name": "app.sophia-intel.ai", "redirect": None, "redirect_status_code": None}
    assert res["diff"] == {"before": {}, "after": after}
    res = run(vercel_domain, dict(name="app.sophia-intel.ai"))
    assert not res["changed"] and len(vc.mutations()) == 1


def test_domain_verified_and_redirect_update(vc, run):
    vc.verified_apexes.add("sophia-intel.ai")
    res = run(vercel_domain, dict(name="sophia-intel.ai"))
    assert res["domain"]["verified"] is True and res["domain"]["verification"] == [] and not res["_warnings"]
    run(vercel_domain, dict(name="www.sophia-intel.ai"))
    res = run(vercel_domain, dict(name="www.sophia-intel.ai", redirect="sophia-intel.ai"), diff=True)
    assert res["changed"] and res["domain"]["redirect"] == "sophia-intel.ai"
    assert res["diff"]["after"]["redirect_status_code"] == 308
    assert not run(vercel_domain, dict(name="www.sophia-intel.ai", redirect="sophia-intel.ai"))["changed"]
    assert run(vercel_domain, dict(name="www.sophia-intel.ai"))["changed"]  # redirect removed
    assert vc.project["domains"]["www.sophia-intel.ai"]["redirect"] is None


def test_domain_check_mode_and_detach(vc, run):
    res = run(vercel_domain, dict(name="app.sophia-intel.ai"), check_mode=True)
    assert res["changed"] and vc.mutations() == []
    run(vercel_domain, dict(name="app.sophia-intel.ai"))
    res = run(vercel_domain, dict(name="app.sophia-intel.ai", state="absent"), check_mode=True)
    assert res["changed"] and "app.sophia-intel.ai" in vc.project["domains"]
    res = run(vercel_domain, dict(name="app.sophia-intel.ai", state="absent"), diff=True)
    assert res["changed"] and res["domain"] is None and res["diff"]["after"] == {}
    assert vc.project["domains"] == {}
    assert not run(vercel_domain, dict(name="app.sophia-intel.ai", state="absent"))["changed"]


@pytest.mark.parametrize("args,problem", [
    (dict(name="not a domain"), "not a domain name"),
    (dict(name="app.sophia-intel.ai", redirect="-bad.example"), "not a domain name"),
])
def test_domain_bad_input_refused_before_any_call(vc, run, args, problem):
    res = run(vercel_domain, args)
    assert res.get("failed") and problem in res["msg"] and vc.requests == []


def test_domain_errors(vc, run):
    res = run(vercel_domain, dict(name="app.sophia-intel.ai", project="missing"))
    assert res["status"] == 404 and res["code"] == "not_found" and vc.mutations() == []
    vc.fail_next("POST", "/domains$", 400, code="bad_request", message="The domain is invalid")
    res = run(vercel_domain, dict(name="app.sophia-intel.ai"))
    assert res["status"] == 400 and "invalid" in res["msg"]
    res = run(vercel_domain, dict(name="app.sophia-intel.ai", token="bad"))
    assert res["status"] == 403 and res["code"] == "forbidden" and "bad" not in res["msg"].split(":", 1)[1]
