from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.preflight import (
    checksum_problems,
    install_problems,
    list_problems,
    listen_address_problems,
    local_archive_digest,
    release_arch,
)

GOOD = "sha256:" + "a" * 64


def test_package_method_needs_nothing_else():
    assert install_problems("node_exporter", "package") == []


def test_unknown_method_names_the_variable():
    (msg,) = install_problems("node_exporter", "snap")
    assert msg.startswith("node_exporter_install_method:") and "'snap'" in msg


def test_archive_without_url_and_checksum():
    problems = install_problems("node_exporter", "archive", "", "")
    assert [p.split(":")[0] for p in problems] == ["node_exporter_archive_url", "node_exporter_archive_checksum"]


@pytest.mark.parametrize("checksum, fragment", [
    ("sha256:" + "a" * 63, "64 hex characters, got 63"),
    ("a" * 65, "64 hex characters, got 65"),
    ("sha256:" + "g" * 64, "hexadecimal"),
    ("md5:" + "a" * 32, "only sha256"),
])
def test_bad_checksums(checksum, fragment):
    (msg,) = install_problems("prometheus", "archive", "http://m/a.tgz", checksum)
    assert msg.startswith("prometheus_archive_checksum:") and fragment in msg


@pytest.mark.parametrize("checksum", [GOOD, "b" * 64, "sha256:http://127.0.0.1:8000/sha256sums.txt"])
def test_good_checksums(checksum):
    assert install_problems("x", "archive", "http://m/a.tgz", checksum) == []


def test_local_method_compares_a_digest_and_does_not_fail_on_the_default_url():
    # The roles' default checksum is sha256:<mirror URL>; the docs call it optional with the local
    # method, so a URL there is no problem: nothing to compare (preflight says so), not an error.
    assert install_problems("x", "local", local_archive="/a.tgz", checksum="sha256:https://h/sums") == []
    assert local_archive_digest("sha256:https://h/sums") == ""
    assert local_archive_digest("") == ""
    assert local_archive_digest("sha256:" + "AB" * 32) == "ab" * 32
    assert local_archive_digest("cd" * 32) == "cd" * 32
    assert install_problems("x", "local", local_archive="/a.tgz") == []
    assert install_problems("x", "local")[0].startswith("x_local_archive:")
    (msg,) = install_problems("x", "local", local_archive="/a.tgz", checksum="sha256:" + "a" * 10)
    assert msg.startswith("x_archive_checksum:") and "64 hex characters" in msg


SPEC = {
    "x_groups": {"type": "list", "elements": "str"},
    "x_jobs": {"type": "list", "elements": "dict"},
    "x_name": {"type": "str"},
}


def test_list_problems_refuse_a_string_or_mapping_where_a_list_is_expected():
    assert list_problems(SPEC, {"x_groups": ["a", "b"], "x_jobs": [{"a": 1}], "x_name": "n"}) == []
    assert list_problems(SPEC, {"x_groups": None, "x_jobs": []}) == []
    assert list_problems(SPEC, {"x_groups": "a,b", "x_jobs": {"job": 1}}) == [
        "x_groups: must be a list, got the string 'a,b' (with -e, give JSON: -e '{\"x_groups\": [\"a\", \"b\"]}')",
        "x_jobs: must be a list, got a mapping",
    ]
    assert list_problems(SPEC, {"x_jobs": ["job"]}) == ["x_jobs[0]: must be a mapping, got 'job'"]
    assert list_problems(SPEC, {"x_groups": [["nested"]]}) == ["x_groups[0]: must be a string, got ['nested']"]


def test_download_place():
    (msg,) = install_problems("x", "archive", "http://m/a.tgz", GOOD, download_on="bastion")
    assert msg.startswith("x_archive_download_on:")


@pytest.mark.parametrize("value", ["0.0.0.0:9100", ":9100", "127.0.0.21:19100", "[::1]:9100", "mon-1.example.org:443"])
def test_good_listen_addresses(value):
    assert listen_address_problems({"a_listen_address": value}) == []


@pytest.mark.parametrize("value", ["9100", "0.0.0.0", "0.0.0.0:0", "0.0.0.0:70000", "host:port", "::1:9100", ""])
def test_bad_listen_addresses(value):
    (msg,) = listen_address_problems({"a_listen_address": value})
    assert msg.startswith("a_listen_address: must be host:port")


def test_checksum_empty_is_not_a_problem_by_itself():
    assert checksum_problems("x", "") == []


@pytest.mark.parametrize("machine, release", [
    ("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armv7"), ("ppc64le", "ppc64le"), ("s390x", "s390x"),
    ("riscv64", "riscv64"), (None, "unknown"),
])
def test_release_arch_is_the_one_architecture_map(machine, release):
    # The names of the upstream release archives, e.g. node_exporter-1.8.2.linux-arm64.tar.gz.
    assert release_arch(machine) == release


@pytest.mark.parametrize("machine, release", [("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "arm")])
def test_release_arch_with_lokis_names(machine, release):
    # Loki's and Promtail's release assets: loki-linux-amd64.zip, loki-linux-arm64.zip, loki-linux-arm.zip.
    assert release_arch(machine, naming="loki") == release
