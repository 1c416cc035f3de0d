"""The lock readers: names, versions, lines and why an entry cannot be audited, per format."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opsctl.gates.interface import GateError
from opsctl.gates.security.locks.interface import LockedPackage, LockError, entry_lines, read_lock

LOCKS = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "security" / "locks"


def uv_lock(folder: Path, tmp_path: Path) -> Path:
    """A uv fixture, stored as ``uv.lock.fixture`` (no ``uv.lock`` is committed), in place."""
    target = tmp_path / "uv.lock"
    shutil.copy(folder / "uv.lock.fixture", target)
    return target


def table(packages: list[LockedPackage]) -> list[tuple[str, str | None, int | None, bool]]:
    return [(p.name, p.version, p.line, p.auditable) for p in packages]


def reason(packages: list[LockedPackage], name: str) -> str:
    why = next(p.not_auditable for p in packages if p.name == name)
    assert why is not None
    return why


def test_uv_lock_names_versions_lines_and_the_project_left_out(tmp_path: Path) -> None:
    lock = read_lock(uv_lock(LOCKS / "uv" / "vulnerable", tmp_path), "uv.lock")
    assert (lock.kind, lock.file, lock.project) == ("uv.lock", "uv.lock", ["myservice"])
    assert table(lock.packages) == [
        ("certifi", "2024.8.30", 6, True),
        ("idna", "3.7", 15, True),
        ("internal-lib", "1.2.0", 24, False),
        ("requests", "2.19.0", 48, True),
    ]
    assert reason(lock.packages, "internal-lib").startswith(
        "git source https://github.com/example/internal-lib?rev=v1.2.0#0123"
    )
    assert reason(lock.packages, "internal-lib").endswith(": not on the index")


def test_uv_lock_keeps_every_version_of_a_forked_resolution(tmp_path: Path) -> None:
    lock = read_lock(uv_lock(LOCKS / "uv" / "forked", tmp_path))
    versions = [(p.version, p.line) for p in lock.packages if p.name == "requests"]
    assert versions == [("2.19.0", 45), ("2.32.3", 57)]


def test_uv_lock_path_sources_and_workspace_members(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text(
        'version = 1\n\n[manifest]\nmembers = ["api", "worker"]\n\n'
        '[[package]]\nname = "api"\nversion = "0.1.0"\nsource = { virtual = "." }\n\n'
        '[[package]]\nname = "worker"\nversion = "0.1.0"\nsource = { editable = "worker" }\n\n'
        '[[package]]\nname = "vendored"\nversion = "2.0"\nsource = { path = "../vendor/x.whl" }\n\n'
        '[[package]]\nname = "tarball"\nversion = "1.0"\n'
        'source = { url = "https://example.test/t.tar.gz" }\n'
    )
    lock = read_lock(tmp_path / "uv.lock", "uv.lock")
    assert lock.project == ["api", "worker"]
    assert table(lock.packages) == [
        ("vendored", "2.0", 17, False),
        ("tarball", "1.0", 22, False),
    ]
    assert reason(lock.packages, "vendored") == "path source ../vendor/x.whl: not on the index"


def test_poetry_lock_names_versions_lines_and_sources() -> None:
    lock = read_lock(LOCKS / "poetry" / "vulnerable" / "poetry.lock", "poetry.lock")
    assert (lock.kind, lock.project) == ("poetry.lock", [])
    assert table(lock.packages) == [
        ("certifi", "2024.8.30", 4, True),
        ("idna", "3.7", 14, True),
        ("internal-lib", "1.2.0", 24, False),
        ("requests", "2.19.0", 39, True),
    ]
    assert reason(lock.packages, "internal-lib") == (
        "git source https://github.com/example/internal-lib.git: not on the index"
    )


def test_poetry_lock_legacy_index_is_audited_directory_and_file_are_not(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "mirrored"\nversion = "1.0"\n\n'
        '[package.source]\ntype = "legacy"\nurl = "https://mirror.test/simple"\nreference = "m"\n\n'
        '[[package]]\nname = "local"\nversion = "0.2"\n\n'
        '[package.source]\ntype = "directory"\nurl = "../local"\n\n'
        '[[package]]\nname = "wheel"\nversion = "0.3"\n\n'
        '[package.source]\ntype = "file"\nurl = "dist/wheel-0.3-py3-none-any.whl"\n'
    )
    lock = read_lock(tmp_path / "poetry.lock")
    assert table(lock.packages) == [
        ("mirrored", "1.0", 2, True),
        ("local", "0.2", 11, False),
        ("wheel", "0.3", 19, False),
    ]


def test_pylock_names_versions_lines_ignoring_the_wheels_own_names() -> None:
    lock = read_lock(LOCKS / "pylock" / "vulnerable" / "pylock.toml", "pylock.toml")
    assert (lock.kind, lock.project) == ("pylock.toml", ["myservice"])
    assert table(lock.packages) == [
        ("certifi", "2024.8.30", 7, True),
        ("idna", "3.7", 18, True),
        ("internal-lib", None, 29, False),
        ("requests", "2.19.0", 41, True),
    ]
    assert reason(lock.packages, "internal-lib") == (
        "vcs source https://github.com/example/internal-lib.git: not on the index"
    )


def test_pylock_named_lock_and_archive_entries(tmp_path: Path) -> None:
    (tmp_path / "pylock.dev.toml").write_text(
        'lock-version = "1.0"\n\n[[packages]]\nname = "a"\nversion = "1.0"\n\n'
        '[[packages]]\nname = "b"\nversion = "2.0"\n'
        'archive = { url = "https://example.test/b-2.0.tar.gz" }\n'
    )
    lock = read_lock(tmp_path / "pylock.dev.toml")
    assert table(lock.packages) == [("a", "1.0", 4, True), ("b", "2.0", 8, False)]


def test_unhashed_requirements_report_unpinned_lines() -> None:
    lock = read_lock(LOCKS / "requirements" / "unpinned" / "requirements.txt", "requirements.txt")
    assert (lock.kind, lock.project) == ("requirements", ["."])
    assert table(lock.packages) == [
        ("requests", "2.32.3", 2, True),
        ("idna", "3.7", 3, True),
        ("certifi", None, 4, False),
        ("urllib3", None, 5, False),
    ]
    assert reason(lock.packages, "certifi") == "not pinned to one version with == (>=2024.2.2)"
    assert reason(lock.packages, "urllib3") == "not pinned to one version with == (no version)"


def test_hashed_requirements_continuations_markers_extras_and_urls() -> None:
    lock = read_lock(LOCKS / "requirements" / "hashed" / "requirements.txt")
    assert lock.project == ["."]
    assert lock.unhashed == []  # every requirement carries --hash: a complete lock
    assert table(lock.packages) == [
        ("certifi", "2024.8.30", 4, True),
        ("colorama", "0.4.6", 7, True),  # its marker is false everywhere: still an entry
        ("idna", "3.7", 9, True),
        ("requests", "2.19.0", 13, True),
        ("private-lib", None, 15, False),
    ]
    assert "URL requirement https://packages.invalid/private-lib-1.0.tar.gz" in reason(
        lock.packages, "private-lib"
    )


def test_requirements_wildcards_includes_and_editable_checkouts(tmp_path: Path) -> None:
    (tmp_path / "requirements-dev.txt").write_text(
        "--index-url https://index.example.test/simple\n-c constraints.txt\n"
        "a==1.*\nb===1.0\nc==1.0 --config-settings=x=y\n-r base.txt\n"
        "-e git+https://github.com/example/d.git#egg=d\n./vendor/e\n"
    )
    (tmp_path / "constraints.txt").write_text("z==9\n")
    (tmp_path / "base.txt").write_text("f==2.0\n")
    lock = read_lock(tmp_path / "requirements-dev.txt")
    assert table(lock.packages) == [
        ("a", None, 3, False),
        ("b", None, 4, False),
        ("c", "1.0", 5, True),
        ("f", "2.0", 1, True),  # from base.txt, at its own line
        ("git+https://github.com/example/d.git#egg=d", None, 7, False),
        ("./vendor/e", None, 8, False),
    ]
    assert reason(lock.packages, "a") == "not pinned to one version with == (==1.*)"


def test_an_invalid_requirement_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\nfoo==1.0 ;; bad\n")
    with pytest.raises(LockError) as error:
        read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert str(error.value).startswith("requirements.txt:2: not a valid requirement: ")
    assert isinstance(error.value, GateError)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("uv/uv.lock", "uv.lock:6: not valid TOML: Illegal character '\\n' (column 18)"),
        ("poetry/poetry.lock", "poetry.lock:9: not valid TOML: Cannot declare ('package',) twice"),
        ("nameless/pylock.toml", "pylock.toml:8: a [[packages]] entry has no name"),
    ],
)
def test_a_malformed_lock_is_one_error_with_file_and_line(
    case: str, message: str, tmp_path: Path
) -> None:
    path = LOCKS / "malformed" / case
    if path.name == "uv.lock":
        path = uv_lock(path.parent, tmp_path)
    with pytest.raises(LockError) as error:
        read_lock(path, path.name)
    assert str(error.value).startswith(message), str(error.value)
    assert error.value.file == path.name and error.value.line == int(message.split(":")[1])


def test_unknown_formats_and_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(LockError, match=r"^Pipfile.lock: not a lock format opsctl reads"):
        read_lock(tmp_path / "Pipfile.lock", "Pipfile.lock")
    with pytest.raises(LockError, match=r"^uv.lock: not found \(service.requirements\)$"):
        read_lock(tmp_path / "uv.lock", "uv.lock")


def test_entry_lines_follow_only_the_entries_own_name_key() -> None:
    text = (
        '[[packages]]\nversion = "1"\nname = "late"\n'  # name after another key
        '[[packages.wheels]]\nname = "late-1.whl"\n'  # a sub-table's name
        '[[packages]]\ndescription = """\nname = "in a string"\n"""\n'
        '[packages.vcs]\nname = "not this one"\n'  # no name of its own
        '[[ packages ]]  # spaced\n"name" = "quoted"\n'
        'deps = [\n    { name = "inline" },\n]\n'
    )
    assert entry_lines(text.splitlines(), "packages") == [(1, 3), (6, None), (12, 13)]
