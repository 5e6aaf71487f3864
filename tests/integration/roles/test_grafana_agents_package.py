"""`alloy_install_method: package` and `promtail_install_method: package` install from Grafana's
repository, set up by the same tasks as the grafana and loki roles (roles/grafana/tasks/repository.yml).

Grafana's repository cannot be reached here, so the roles run in check mode with --diff on
localhost (nothing is written): the test reads the APT source they would write, the signing key
task, the diversion of the package's unit (Promtail), and that the run reaches the package install
with the product's package, where it stops because APT has no such package without Grafana's
repository (that failure is the proof that the package path is taken, not a stub).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

GOOD = {
    "monitoring_environment": "dev",
    "monitoring_loki_push_url": "http://127.0.0.63:3100/loki/api/v1/push",
    "monitoring_log_files": [{"path": "/var/log/photogather/*.log", "service": "photogather-api"}],
}
SOURCE = """# Managed by monitoring.stack
Types: deb
URIs: https://apt.grafana.com
Suites: stable
Components: main
Signed-By: /etc/apt/keyrings/grafana.asc
"""


def _ran(result, suffix):
    return [res for name, res in result.results() if name.endswith(suffix)]


@pytest.mark.parametrize("role", ["alloy", "promtail"])
def test_package_method_uses_grafanas_repository(playbook, tmp_path, role):
    key = tmp_path / "grafana.asc"
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\nstand-in key\n-----END PGP PUBLIC KEY BLOCK-----\n")
    result = playbook(
        [{"name": "package method", "hosts": "localhost", "gather_facts": True,
          "roles": [{"role": "monitoring.stack." + role}]}],
        extravars=dict(GOOD, monitoring_log_agent=role, **{
            role + "_install_method": "package", role + "_repository_key_url": "file://%s" % key,
            role + "_config_dir": str(tmp_path / "etc"), role + "_data_dir": str(tmp_path / "data")}),
        check=True, diff=True)

    # Preflight passes: the package method is no longer refused.
    assert _ran(result, "Check the log collection settings (shared log agent model)")[0].get("failed") is not True
    source = _ran(result, "Write Grafana's APT source")
    assert len(source) == 1 and source[0]["changed"], result
    assert source[0]["diff"][0]["after"] == SOURCE
    assert source[0]["diff"][0]["after_header"] == "/etc/apt/sources.list.d/grafana.sources"
    assert _ran(result, "Download Grafana's repository signing key")[0]["changed"]

    divert = _ran(result, "Ask dpkg whether the package's own units are diverted")[0]
    if role == "promtail":  # its package ships /etc/systemd/system/promtail.service, our unit's path
        assert [item["item"] for item in divert["results"]] == ["promtail.service"]
    else:  # Alloy's package ships its unit under /usr/lib: our /etc unit overrides it
        assert divert.get("results", []) == []
    masked = _ran(result, "Mask the package's own units before installing")[0]
    assert [item["item"]["item"] for item in masked["results"]] == [role + ".service"]

    install = _ran(result, "Install the packages of " + role)
    assert len(install) == 1, [name for name, _res in result.results()]
    assert install[0]["failed"] and "No package matching '%s' is available" % role in install[0]["msg"], install[0]
    assert result.failures() == [("monitoring.stack.install : Install the packages of " + role, install[0]["msg"])]
