"""Bad role input fails in preflight, before anything changes on the host.

Each case runs the role in check mode against localhost (so even a broken preflight could not
change this machine), and asserts that the run failed, that the failure names the variable,
and that no task reported a change.
"""

from __future__ import annotations

import pytest

CASES = {
    "node_exporter": [
        ({"node_exporter_install_method": "snap"}, "node_exporter_install_method"),
        ({"node_exporter_install_method": "archive", "node_exporter_archive_url": ""}, "node_exporter_archive_url"),
        ({"node_exporter_install_method": "archive", "node_exporter_archive_checksum": ""},
         "node_exporter_archive_checksum: required"),
        ({"node_exporter_install_method": "archive", "node_exporter_archive_checksum": "sha256:" + "0" * 63},
         "node_exporter_archive_checksum: a sha256 digest has 64 hex characters, got 63"),
        ({"node_exporter_listen_address": "9100"}, "node_exporter_listen_address: must be host:port"),
        ({"node_exporter_listen_address": "127.0.0.1:99999"}, "node_exporter_listen_address: must be host:port"),
        ({"node_exporter_install_method": "local"}, "node_exporter_local_archive: required"),
        ({"node_exporter_enabled_collectors": ["systemd"], "node_exporter_disabled_collectors": ["systemd"]},
         "both name systemd"),
    ],
}


def _cases():
    for role, cases in CASES.items():
        for extravars, expected in cases:
            yield pytest.param(role, extravars, expected, id="%s-%s" % (role, expected.split(":", maxsplit=1)[0]))


@pytest.mark.slow
@pytest.mark.parametrize("role, extravars, expected", _cases())
def test_bad_input_fails_before_any_change(playbook, role, extravars, expected):
    result = playbook(
        [{"name": "preflight", "hosts": "localhost", "gather_facts": False,
          "roles": [{"role": "monitoring.stack." + role}]}],
        extravars=extravars, check=True)
    assert result.rc != 0, result
    messages = " | ".join(msg for _name, msg in result.failures())
    assert expected in messages, result
    assert result.changed() == 0, result
