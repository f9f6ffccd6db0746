"""Read the original files of public benign task data that are not csv / json / jsonl / parquet.

- a line-aligned set of plain-text files given by their common prefix (Multi30k:
  ``test_2016_flickr`` → ``test_2016_flickr.en`` + ``.fr`` + ``.de``);
- ``sentence@label`` lines (Financial PhraseBank, ISO-8859-1 in the original release);
- tab-separated values with a header and no quoting (GLUE's SST-2 ``dev.tsv`` / ``train.tsv``).

Each returns a :class:`builders.seeds.tables.Table`, so the caller reads every format alike.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from builders.errors import InputError
from builders.seeds.source import sha256_bytes
from builders.seeds.tables import Table, read_table


def read_any_table(path: Path) -> Table:
    """``.tsv`` and ``.txt`` (``sentence@label``) here; csv / json / jsonl / parquet via read_table."""
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        return read_tsv(path)
    if suffix == ".txt":
        return read_sentence_at_label(path)
    return read_table(path)


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise InputError("is a folder, not a file", file=str(path))
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    data = path.read_bytes()
    if not data.strip():
        raise InputError("empty file", file=str(path))
    return data


def _text(data: bytes, file: str, *, latin1_fallback: bool = False) -> str:
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        if latin1_fallback:
            return data.decode("iso-8859-1")
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text (line {line}); re-save it as UTF-8", file=file) from None


def read_tsv(path: Path) -> Table:
    """A header line, then one record per line; no quoting (GLUE files hold bare quotes)."""
    file = str(path)
    data = _read_bytes(path)
    lines = _text(data, file).splitlines()
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [name.strip() for name in next(reader)]
    rows, numbers = [], []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise InputError(
                f"{len(cells)} tab-separated cells, the header has {len(header)}",
                file=file,
                row=number,
            )
        rows.append(dict(zip(header, cells, strict=True)))
        numbers.append(number)
    if not rows:
        raise InputError("no rows (the file has only a header)", file=file)
    return Table(file, tuple(header), rows, numbers, sha256_bytes(data))


def read_sentence_at_label(path: Path) -> Table:
    """Financial PhraseBank: ``sentence@label`` per line, split at the last '@'."""
    file = str(path)
    data = _read_bytes(path)
    rows, numbers = [], []
    for number, line in enumerate(_text(data, file, latin1_fallback=True).splitlines(), 1):
        if not line.strip():
            continue
        sentence, at, label = line.rpartition("@")
        if not at:
            raise InputError("expected 'sentence@label'", file=file, row=number)
        rows.append({"sentence": sentence.strip(), "label": label.strip()})
        numbers.append(number)
    return Table(file, ("sentence", "label"), rows, numbers, sha256_bytes(data))


def read_line_aligned(
    prefix: Path, source: str, targets: tuple[str, ...]
) -> tuple[Table, list[dict[str, str]]]:
    """``{prefix}.{source}`` and every ``{prefix}.{target}`` that exists, line by line, with the
    provenance (path, sha256) of each file read.

    ``prefix`` may also name the source file itself (``test_2016_flickr.en``). Columns are the
    language codes; at least one target file must exist, and all must have the same line count.
    """
    if prefix.suffix.lstrip(".") == source:
        prefix = prefix.with_suffix("")
    source_path = prefix.with_name(f"{prefix.name}.{source}")
    if not source_path.is_file():
        raise InputError(
            f"no {source_path.name} next to the prefix (give the common prefix of a line-aligned "
            f"pair, e.g. test_2016_flickr for test_2016_flickr.{source} + .fr)",
            file=str(prefix),
        )
    paths = {source: source_path}
    for code in targets:
        candidate = prefix.with_name(f"{prefix.name}.{code}")
        if candidate.is_file():
            paths[code] = candidate
    if len(paths) == 1:
        wanted = ", ".join(f".{code}" for code in targets)
        raise InputError(
            f"no translation next to {source_path.name} (looked for {wanted})", file=str(prefix)
        )
    columns: dict[str, list[str]] = {}
    files = []
    for code, path in paths.items():
        data = _read_bytes(path)
        files.append({"path": str(path), "sha256": sha256_bytes(data)})
        columns[code] = _text(data, str(path)).splitlines()
    count = len(columns[source])
    for code, lines in columns.items():
        if len(lines) != count:
            raise InputError(
                f"{len(lines)} lines, but {source_path.name} has {count}: the files must be "
                "line-aligned",
                file=str(paths[code]),
            )
    rows = [{code: lines[i] for code, lines in columns.items()} for i in range(count)]
    # The set's own fingerprint: the sha256 of its files' sha256s, in order.
    digest = sha256_bytes("".join(f["sha256"] for f in files).encode("ascii"))
    return Table(str(prefix), tuple(paths), rows, list(range(1, count + 1)), digest), files
