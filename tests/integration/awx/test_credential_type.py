"""awx/credential_type_grafana.yml injects what the Grafana modules read: every variable it sets
is the env fallback of a connection option (plugins/module_utils/grafana_module.py), the token is
a secret field, and the modules it names for minting the token exist."""

from __future__ import annotations

import yaml

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_module import grafana_argument_spec
from tests.support.playbook import REPO

CREDENTIAL_TYPE = REPO / "awx" / "credential_type_grafana.yml"


def test_injected_variables_are_the_modules_env_fallbacks():
    credential = yaml.safe_load(CREDENTIAL_TYPE.read_text(encoding="utf-8"))
    fallbacks = {}
    for option, spec in grafana_argument_spec().items():
        if spec.get("fallback"):
            for name in spec["fallback"][1]:
                fallbacks[name] = option
    injected = credential["injectors"]["env"]
    assert set(injected) <= set(fallbacks), set(injected) - set(fallbacks)
    assert fallbacks["GRAFANA_TOKEN"] == "token" and "GRAFANA_TOKEN" in injected
    fields = dict((field["id"], field) for field in credential["inputs"]["fields"])
    assert fields["grafana_token"].get("secret") is True
    assert "GRAFANA_PASSWORD" not in injected  # a token, never the admin password


def test_the_modules_it_names_for_the_token_exist():
    text = CREDENTIAL_TYPE.read_text(encoding="utf-8")
    for module in ("grafana_service_account", "amg_service_account"):
        assert "monitoring.stack.%s" % module in text
        assert (REPO / "plugins" / "modules" / ("%s.py" % module)).is_file()
