"""Requirements files read as pip reads them: includes, constraints, markers, hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.gates.security.locks.interface import LockedPackage, LockError, read_lock


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def where(packages: list[LockedPackage]) -> list[tuple[str, str | None, str | None, int | None]]:
    return [(p.name, p.version, p.file, p.line) for p in packages]


def test_includes_are_followed_relative_to_the_including_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements/prod.txt": "-r ../common/base.txt\nidna==3.7\n",
            "common/base.txt": "# shared\nrequests==2.19.0\n-r more/extra.txt\n",
            "common/more/extra.txt": "certifi==2024.8.30\n",
        },
    )
    lock = read_lock(tmp_path / "requirements/prod.txt", "requirements/prod.txt")
    assert where(lock.packages) == [
        ("requests", "2.19.0", "common/base.txt", 2),
        ("certifi", "2024.8.30", "common/more/extra.txt", 1),
        ("idna", "3.7", "requirements/prod.txt", 2),
    ]
    assert lock.files == ["requirements/prod.txt", "common/base.txt", "common/more/extra.txt"]


@pytest.mark.parametrize(
    "include", ["-r base.txt", "-rbase.txt", "--requirement base.txt", "--requirement=base.txt"]
)
def test_every_spelling_pip_accepts_is_an_include(include: str, tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": f"{include}\n", "base.txt": "requests==2.19.0\n"})
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert where(lock.packages) == [("requests", "2.19.0", "base.txt", 1)]


def test_an_include_cycle_is_refused_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "idna==3.7\n-r b.txt\n", "b.txt": "\n-r a.txt\n"})
    with pytest.raises(LockError) as error:
        read_lock(tmp_path / "a.txt", "a.txt")
    assert (error.value.file, error.value.line) == ("b.txt", 2)
    assert "a cycle (a.txt -> b.txt -> a.txt)" in str(error.value)


def test_a_missing_include_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "idna==3.7\n-c pins/constraints.txt\n"})
    with pytest.raises(LockError) as error:
        read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert str(error.value) == (
        "requirements.txt:2: -c pins/constraints.txt: no such file (pins/constraints.txt)"
    )


def test_a_file_included_twice_is_read_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"r.txt": "-r a.txt\n-r b.txt\n", "a.txt": "-r c.txt\n", "b.txt": "-r c.txt\n"}
        | {"c.txt": "idna==3.7\n"},
    )
    assert where(read_lock(tmp_path / "r.txt", "r.txt").packages) == [("idna", "3.7", "c.txt", 1)]


def test_constraints_pin_what_the_requirements_leave_unpinned(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "-c constraints.txt\nrequests\ncertifi>=2024\nidna==3.7\n",
            # urllib3 is pinned but required by nothing listed: a constraint installs nothing
            "constraints.txt": "requests==2.19.0\ncertifi==2024.8.30\nurllib3==2.2.3\n",
        },
    )
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert where(lock.packages) == [
        ("requests", "2.19.0", "constraints.txt", 1),
        ("certifi", "2024.8.30", "constraints.txt", 2),
        ("idna", "3.7", "requirements.txt", 4),
    ]
    assert all(p.auditable for p in lock.packages)


def test_a_universal_constraints_file_pins_each_platform_s_version(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "tzdata\n-c constraints.txt\n",
            "constraints.txt": "tzdata==2024.1 ; sys_platform == 'win32'\n"
            "tzdata==2025.2 ; sys_platform != 'win32'\n",
        },
    )
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert [(p.version, p.line, p.marker) for p in lock.packages] == [
        ("2024.1", 1, 'sys_platform == "win32"'),
        ("2025.2", 2, 'sys_platform != "win32"'),
    ]


def test_requirements_and_constraints_that_exclude_each_other(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.txt": "requests==2.32.3\ncertifi>=2025\nidna\n-c c.txt\n",
            "c.txt": "requests==2.19.0\ncertifi==2024.8.30\nidna<4\n",
        },
    )
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    why = {p.name: p.not_auditable for p in lock.packages}
    assert why == {
        "requests": "pinned to 2.32.3, but the constraints exclude it (c.txt:1 allows ==2.19.0): "
        "pip cannot install it",
        "certifi": ">=2025 conflicts with the constraints (c.txt:2 pins ==2024.8.30): "
        "pip cannot install it",
        "idna": "not pinned to one version with == (no version); "
        "no constraint pins it to one version either",
    }


def test_an_include_inside_a_constraints_file_is_a_requirements_file(tmp_path: Path) -> None:
    # pip: the kind of a nested file is its own option's, -r in a constraints file installs
    write(
        tmp_path,
        {
            "requirements.txt": "-c c.txt\n",
            "c.txt": "-r base.txt\nrequests==2.19.0\n",
            "base.txt": "requests\n",
        },
    )
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert where(lock.packages) == [("requests", "2.19.0", "c.txt", 2)]


def test_markers_are_kept_and_every_entry_is_returned(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"requirements.txt": "pywin32==312 ; sys_platform == 'win32'\nuvloop==0.21.0 ; "
         "sys_platform != 'win32' and sys_platform != 'cygwin'\n"},
    )  # fmt: skip
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert [(p.name, p.auditable, p.marker) for p in lock.packages] == [
        ("pywin32", True, 'sys_platform == "win32"'),
        ("uvloop", True, 'sys_platform != "win32" and sys_platform != "cygwin"'),
    ]


def test_files_without_hashes_are_listed(tmp_path: Path) -> None:
    hashed = "idna==3.7 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    write(
        tmp_path,
        {"requirements.txt": hashed + "-e .\n-r dev.txt\n", "dev.txt": "pytest==8.3.3\n"},
    )
    lock = read_lock(tmp_path / "requirements.txt", "requirements.txt")
    assert lock.unhashed == ["dev.txt"]  # requirements.txt hashes its one requirement
    assert lock.project == ["."]


def test_a_url_include_is_not_downloaded_and_not_audited(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.txt": "-r https://example.test/base.txt\n"})
    [entry] = read_lock(tmp_path / "requirements.txt", "requirements.txt").packages
    assert entry.line == 1 and not entry.auditable
    assert entry.not_auditable is not None
    assert entry.not_auditable.startswith("includes https://example.test/base.txt, a URL")
