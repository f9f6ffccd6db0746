"""What a release is named by: its Hub repo id (``ORG/NAME``) and its semver version.

Plain patterns (no imports): ``push`` declares them on its options, so a malformed repo id or
version is refused before the folder, the token or the Hub are looked at.
"""

from __future__ import annotations

REPO_ID_PATTERN = r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*"
# semver.org 2.0.0 core plus optional pre-release and build parts.
SEMVER_CORE_PATTERN = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
SEMVER_PATTERN = r"v?" + SEMVER_CORE_PATTERN  # a leading v is accepted, as in the tag
