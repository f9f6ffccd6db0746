"""What changed between two releases, from their manifests (and row ids): the card's changelog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Files of a build folder that are not part of the published data (see builders/publish.py).
LOCAL_ONLY_PREFIXES = ("audit/",)


def data_file_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    """{path: sha256} of the data files (parquet shards of every config) a manifest lists."""
    return {
        path: info["sha256"]
        for path, info in manifest.get("files", {}).items()
        if not path.startswith(LOCAL_ONLY_PREFIXES)
    }


def config_files(manifest: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{config: {path: sha256}} of the data files."""
    per_config: dict[str, dict[str, str]] = {}
    for path, sha in data_file_hashes(manifest).items():
        per_config.setdefault(path.split("/", 1)[0], {})[path] = sha
    return per_config


@dataclass
class Changelog:
    previous: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)  # config, added, removed, total
    sources: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        if self.previous is None:
            return "First release."
        lines = [f"Changes since `{self.previous}`:", ""]
        lines += ["| config | rows added | rows removed | rows now |", "|---|---:|---:|---:|"]
        lines += [
            f"| `{r['config']}` | {r['added']} | {r['removed']} | {r['total']} |" for r in self.rows
        ]
        lines.append("")
        lines.append("Seed sources: " + ("; ".join(self.sources) if self.sources else "unchanged."))
        lines.append("")
        lines.append(
            "Templates: " + ("; ".join(self.templates) if self.templates else "unchanged.")
        )
        return "\n".join(lines)


def _total_rows(manifest: dict[str, Any], config: str) -> int:
    return sum(manifest.get("counts", {}).get(config, {}).values())


def row_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    old_ids: dict[str, set[str]] | None,
    new_ids: dict[str, set[str]] | None,
) -> list[dict[str, Any]]:
    """Rows added / removed per config. Configs whose files are byte-identical changed nothing;
    the others are compared by row id when ids are given, else by row counts (net change)."""
    old_files, new_files = config_files(old), config_files(new)
    changes = []
    for config in sorted(old_files.keys() | new_files.keys(), key=_config_order(new)):
        total = _total_rows(new, config)
        if old_files.get(config) == new_files.get(config):
            added = removed = 0
        elif old_ids is not None and new_ids is not None:
            before, after = old_ids.get(config, set()), new_ids.get(config, set())
            added, removed = len(after - before), len(before - after)
        else:
            delta = total - _total_rows(old, config)
            added, removed = max(delta, 0), max(-delta, 0)
        changes.append({"config": config, "added": added, "removed": removed, "total": total})
    return changes


def _config_order(manifest: dict[str, Any]):
    order = list(manifest.get("counts", {}))
    return lambda config: (order.index(config) if config in order else len(order), config)


def source_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    def by_name(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {source["name"]: source for source in manifest.get("seed_sources", [])}

    before, after = by_name(old), by_name(new)
    notes = [
        f"added `{name}` ({after[name].get('license')})" for name in after if name not in before
    ]
    notes += [f"removed `{name}`" for name in before if name not in after]
    for name in after.keys() & before.keys():
        was, now = before[name], after[name]
        what = [
            label
            for label, key in (("files", "files"), ("licence", "license"), ("seeds used", "seeds"))
            if was.get(key) != now.get(key)
        ]
        if what:
            notes.append(f"`{name}` changed ({', '.join(what)})")
    return sorted(notes)


def template_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before = old.get("templates", {}).get("files", {})
    after = new.get("templates", {}).get("files", {})
    notes = [f"added `{name}`" for name in sorted(after.keys() - before.keys())]
    notes += [f"removed `{name}`" for name in sorted(before.keys() - after.keys())]
    notes += [
        f"`{name}` changed"
        for name in sorted(after.keys() & before.keys())
        if before[name] != after[name]
    ]
    old_versions = old.get("templates", {}).get("versions", {})
    for task, version in new.get("templates", {}).get("versions", {}).items():
        if task in old_versions and old_versions[task] != version:
            notes.append(f"`{task}` templates version {old_versions[task]} → {version}")
    return notes


def changelog(
    previous: str | None,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    old_ids: dict[str, set[str]] | None = None,
    new_ids: dict[str, set[str]] | None = None,
) -> Changelog:
    if previous is None or old is None:
        return Changelog(previous=None)
    return Changelog(
        previous=previous,
        rows=row_changes(old, new, old_ids, new_ids),
        sources=source_changes(old, new),
        templates=template_changes(old, new),
    )
