"""Bad remote write entries (prometheus_remote_write with a kind) fail in the prometheus role's
preflight, before any change, naming the entry and never printing a credential.

Through the shared harness (tests/support/role_preflight.py): every case is a host of one
check-mode run on localhost; each fails, its message names the variable, nothing changed, and
the secret given in the entries appears nowhere in the output.
"""

from __future__ import annotations

import pytest


SECRET = "rw-secret-never-printed-7f3a"
ARCHIVE_3 = {"prometheus_install_method": "archive", "prometheus_version": "3.5.3"}

CASES = [
    (dict(ARCHIVE_3, prometheus_remote_write=[{"kind": "amp", "workspace_id": "ws-0123abcd",
                                               "sigv4": {"access_key": "AKIDEXAMPLE", "secret_key": SECRET}}]),
     "prometheus_remote_write[0].region: AMP needs a region (the workspace's, e.g. eu-west-1)"),
    (dict(ARCHIVE_3, prometheus_remote_write=[
        {"kind": "victoriametrics", "url": "http://127.0.0.171:8428"},
        {"kind": "amp", "region": "eu-west-1",
         "url": "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"}]),
     "prometheus_remote_write[1].url: the workspace URL is in region us-east-1, but region is eu-west-1"),
    (dict(ARCHIVE_3, prometheus_remote_write=[{"kind": "mimir", "tenant": "team-a",
                                               "basic_auth": {"username": "u", "password": SECRET}}]),
     "prometheus_remote_write[0].url: mimir needs the url of its remote write endpoint"),
    (dict(ARCHIVE_3, prometheus_remote_write=[{"kind": "cortex", "url": "http://127.0.0.171:9009/api/v1/push"}]),
     "prometheus_remote_write[0].kind: 'cortex' is not one of amp, mimir, thanos_receive, victoriametrics"),
]


@pytest.mark.slow
def test_bad_remote_write_entries_fail_before_any_change(role_preflight, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    cases = role_preflight.run_cases("prometheus", [dict(c, prometheus_data_dir=str(data_dir)) for c, _e in CASES])
    for index, (_case, expected) in enumerate(CASES):
        cases.fails_before_any_change(index, expected, secrets=(SECRET,))
