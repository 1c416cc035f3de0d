"""The corpus of broken configurations: exact exit code, a message naming file, line and key
(and what was expected), and never a traceback."""

from __future__ import annotations

import time

import pytest
from tests.opsctl.cli.helpers import CONFIG_FIXTURES, free_port, invoke, run_opsctl

BROKEN = CONFIG_FIXTURES / "broken"

# (case, message fragments; the first is always "file:line: key:")
CORPUS = [
    ("bad_yaml", ["bad_yaml.yaml:4:", "invalid YAML", "expected ',' or ']'"]),
    ("tab_indent", ["tab_indent.yaml:2:", "invalid YAML", "'\\t'"]),
    ("unknown_key", ["unknown_key.yaml:3: service.sorce: unknown key", "did you mean 'source'?"]),
    (
        "unknown_env_key",
        ["unknown_env_key.yaml:6: environments.local.databse_url: unknown key", "'database_url'"],
    ),
    ("unknown_top_key", ["unknown_top_key.yaml:3: enviroments: unknown key", "'environments'"]),
    (
        "wrong_type",
        ["wrong_type.yaml:6: environments.local.protected:", "expected true or false", "'maybe'"],
    ),
    ("wrong_list", ["wrong_list.yaml:3: service.tests:", "expected a list", "(got 5)"]),
    (
        "missing_variable",
        [
            "missing_variable.yaml:6: environments.staging.database_url:",
            "environment variable OPSCTL_TEST_UNSET_DATABASE_URL is not set",
            "${OPSCTL_TEST_UNSET_DATABASE_URL:-default}",
        ],
    ),
    ("missing_service", ["missing_service.yaml:1: service:", "required key is missing"]),
    ("missing_url", ["missing_url.yaml:4: environments.local.url:", "required key is missing"]),
    ("not_a_mapping", ["not_a_mapping.yaml:1:", "expected a mapping of keys at the top level"]),
    ("duplicate_key", ["duplicate_key.yaml:3: service.name: duplicate key", "line 2"]),
    (
        "bad_database_url",
        [
            "bad_database_url.yaml:6: environments.local.database_url:",
            "expected 'embedded' or a postgresql:// URL",
        ],
    ),
    (
        "bad_http_url",
        ["bad_http_url.yaml:5: environments.local.url:", "expected an http:// or https:// URL"],
    ),
    (
        "environment_not_mapping",
        ["environment_not_mapping.yaml:4: environments.local:", "expected a mapping of keys"],
    ),
    ("empty_file", ["empty_file.yaml: service:", "required key is missing"]),
    (
        "impossible_date",
        ["impossible_date.yaml:4: service.migrations:", "invalid value '2021-02-30'", "quote it"],
    ),
]


@pytest.mark.parametrize(("case", "fragments"), CORPUS, ids=[case for case, _ in CORPUS])
def test_broken_configuration_is_one_clear_message(case: str, fragments: list[str]) -> None:
    result = invoke(["--config", str(BROKEN / f"{case}.yaml"), "config", "show"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {BROKEN / case}")
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2  # the message and at most one hint


def test_secret_in_a_wrong_value_is_never_echoed() -> None:
    result = invoke(["--config", str(BROKEN / "bad_database_url.yaml"), "config", "show"])

    assert result.exit_code == 2
    assert "hunter2" not in result.output


def test_a_wrong_value_from_the_environment_is_named_by_its_variable_not_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSCTL_TEST_SECRET_TOKEN", "tok_live_5ecret")
    result = invoke(["--config", str(BROKEN / "secret_from_environment.yaml"), "config", "show"])

    assert result.exit_code == 2
    assert "secret_from_environment.yaml:6: environments.local.protected:" in result.stderr
    assert "(got the value of ${OPSCTL_TEST_SECRET_TOKEN})" in result.stderr
    assert "tok_live_5ecret" not in result.output


def test_broken_configuration_as_a_process_has_no_traceback() -> None:
    completed = run_opsctl(["--config", str(BROKEN / "unknown_key.yaml"), "env", "list"])

    assert completed.returncode == 2
    assert "service.sorce: unknown key" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_verbose_adds_the_traceback() -> None:
    result = invoke(["--verbose", "--config", str(BROKEN / "unknown_key.yaml"), "config", "show"])

    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert "service.sorce: unknown key" in result.stderr


def test_unreachable_host_is_exit_3_and_bounded() -> None:
    closed = str(free_port())
    started = time.monotonic()
    result = invoke(
        ["--config", str(BROKEN / "unreachable_host.yaml"), "env", "check", "local"],
        env={"OPSCTL_TEST_CLOSED_PORT": closed},
    )

    assert result.exit_code == 3
    assert time.monotonic() - started < 10
    for check in ("http /healthz", "http /readyz", "database", "redis"):
        assert check in result.stdout
    assert result.stdout.count("unreachable") >= 4
    assert "local: unhealthy (4 of 4 checks failed" in result.stdout
    assert "Traceback" not in result.output


def test_blackhole_host_times_out_within_the_timeout() -> None:
    started = time.monotonic()
    result = invoke(
        [
            "--config",
            str(BROKEN / "unreachable_host.yaml"),
            "env",
            "check",
            "blackhole",
            "--timeout",
            "1",
        ],
        env={"OPSCTL_TEST_CLOSED_PORT": "1"},
    )

    assert result.exit_code == 3
    assert time.monotonic() - started < 6  # probes run concurrently, each bounded by 1 s
    assert "blackhole: unhealthy" in result.stdout


def test_unknown_environment_names_the_known_ones() -> None:
    result = invoke(
        ["--config", str(CONFIG_FIXTURES / "valid" / "opsctl.yaml"), "env", "check", "qa"]
    )

    assert result.exit_code == 2
    assert "unknown environment 'qa'" in result.stderr
    assert "local, production, staging" in result.stderr


def test_missing_config_file_says_what_to_do(tmp_path: object) -> None:
    result = invoke(["--config", "/nonexistent/opsctl.yaml", "config", "show"])

    assert result.exit_code == 2
    assert "/nonexistent/opsctl.yaml: file not found" in result.stderr
