"""Release versions: semver ``X.Y.Z`` published as git tags ``vX.Y.Z`` that never move."""

from __future__ import annotations

import re

from builders.errors import InputError
from builders.release.names import SEMVER_CORE_PATTERN

SEMVER = re.compile(f"^{SEMVER_CORE_PATTERN}$")

Key = tuple[int, int, int, tuple[tuple[int, int, str], ...]]


def parse_version(text: str) -> Key | None:
    """Sort key of a semver string (a leading ``v`` allowed), or None if it is not semver.

    A pre-release sorts before its release (1.0.0-rc.1 < 1.0.0); build metadata is ignored.
    """
    match = SEMVER.match(text.removeprefix("v"))
    if not match:
        return None
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        pre_key: tuple[tuple[int, int, str], ...] = ((2, 0, ""),)  # after every pre-release
    else:
        # Numeric identifiers sort numerically and before alphanumeric ones (semver rule 11).
        pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return int(major), int(minor), int(patch), pre_key


def tag_name(version: str) -> str:
    return f"v{version.removeprefix('v')}"


def check_new_version(version: str, tags: dict[str, str]) -> str:
    """The tag for ``version``; exit-2 error if it is not semver, exists, or is not the newest.

    ``tags`` maps every tag name of the repo to its commit.
    """
    if parse_version(version) is None:
        raise InputError(
            f"'{version}' is not a semantic version (X.Y.Z, e.g. 1.2.0)", field="--version"
        )
    tag = tag_name(version)
    if tag in tags:
        raise InputError(
            f"tag {tag} already exists at commit {tags[tag]}; a published version is never moved "
            "or overwritten: choose a greater --version",
            field="--version",
        )
    latest = latest_release(tags)
    if latest is not None and parse_version(tag) <= parse_version(latest):  # type: ignore[operator]
        raise InputError(
            f"{tag} is not greater than the latest release {latest} (commit {tags[latest]})",
            field="--version",
        )
    return tag


def latest_release(tags: dict[str, str]) -> str | None:
    """The greatest ``v*`` semver tag, or None."""
    releases = [name for name in tags if name.startswith("v") and parse_version(name)]
    return max(releases, key=parse_version, default=None)  # type: ignore[arg-type]
