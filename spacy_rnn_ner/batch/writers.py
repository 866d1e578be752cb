"""Resumable output writers: JSON lines, spaCy DocBin parts and Parquet parts.

A writer's `open()` returns how many records the output already holds
completely, so a rerun skips exactly those inputs and every record ends up in
the output once, in input order:

- JSON lines: one file, flushed and fsync'ed after every batch. On restart the
  complete lines are counted and a partial last line (from a kill mid-write) is
  cut off.
- DocBin and Parquet: OUTPUT is a directory of numbered part files
  (`part-000000.spacy` / `part-000000.parquet`) and `_manifest.json`. A part is
  written under a hidden name, fsync'ed, renamed, and only then listed in the
  manifest (replaced atomically). On restart, parts not in the manifest are
  deleted and their records redone.
"""
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from .annotator import Annotated

OUTPUT_FORMATS = ("jsonl", "docbin", "parquet")
MANIFEST = "_manifest.json"
PART_SUFFIX = {"docbin": ".spacy", "parquet": ".parquet"}


class OutputError(ValueError):
    """The output cannot be written or resumed."""


def detect_output_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".spacy":
        return "docbin"
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise OutputError(f"Cannot tell the output format of {path}: use --output-format or a .jsonl/.spacy/.parquet name.")


def make_writer(path: str, output_format: str, *, part_size: int = 10000, overwrite: bool = False) -> "Writer":
    if output_format == "jsonl":
        return JsonlWriter(Path(path), overwrite=overwrite)
    if output_format == "docbin":
        return DocBinPartWriter(Path(path), part_size=part_size, overwrite=overwrite)
    if output_format == "parquet":
        return ParquetPartWriter(Path(path), part_size=part_size, overwrite=overwrite)
    raise OutputError(f"Unknown output format '{output_format}': expected one of {', '.join(OUTPUT_FORMATS)}.")


class Writer:
    """Write annotated records in order; `open()` returns the records already done."""

    with_docs = False

    def open(self) -> int:
        raise NotImplementedError

    def write(self, results: List[Annotated]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class JsonlWriter(Writer):
    """One JSON object per line, durable after each `write`."""

    def __init__(self, path: Path, *, overwrite: bool = False) -> None:
        self.path = path
        self.overwrite = overwrite
        self._file: Optional[Any] = None

    def open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.overwrite or not self.path.exists():
            self._file = self.path.open("wb")
            return 0
        n_complete, complete_bytes = _complete_lines(self.path)
        with self.path.open("r+b") as file:
            file.truncate(complete_bytes)
            os.fsync(file.fileno())
        self._file = self.path.open("ab")
        return n_complete

    def write(self, results: List[Annotated]) -> None:
        assert self._file is not None, "open() the writer first"
        lines = (json.dumps(result.row, ensure_ascii=False) + "\n" for result in results)
        self._file.write("".join(lines).encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class PartWriter(Writer):
    """Numbered part files plus a manifest; subclasses write one part's records."""

    output_format = ""

    def __init__(self, directory: Path, *, part_size: int = 10000, overwrite: bool = False) -> None:
        if part_size < 1:
            raise OutputError("--part-size must be at least 1.")
        self.directory = directory
        self.part_size = part_size
        self.overwrite = overwrite
        self.parts: List[Dict[str, Any]] = []
        self._in_part = 0

    @property
    def suffix(self) -> str:
        return PART_SUFFIX[self.output_format]

    def open(self) -> int:
        if self.directory.exists() and not self.directory.is_dir():
            raise OutputError(f"{self.directory} is a file: {self.output_format} output is a directory of parts.")
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.directory / MANIFEST
        if manifest.exists() and not self.overwrite:
            data = json.loads(manifest.read_text(encoding="utf8"))
            if data.get("format") != self.output_format:
                raise OutputError(f"{manifest} is for {data.get('format')} output, not {self.output_format}.")
            self.parts = list(data["parts"])
        listed = {part["file"] for part in self.parts}
        for path in self.directory.iterdir():
            if path.name != MANIFEST and path.name not in listed and path.name.lstrip(".").startswith("part-"):
                path.unlink()  # a part that was being written when the job stopped
        return sum(part["records"] for part in self.parts)

    def write(self, results: List[Annotated]) -> None:
        while results:
            room = self.part_size - self._in_part
            chunk, results = results[:room], results[room:]
            if self._in_part == 0:
                self._start_part(self._temp_path())
            self._write_part(chunk)
            self._in_part += len(chunk)
            if self._in_part == self.part_size:
                self._finish_part()

    def close(self) -> None:
        if self._in_part:
            self._finish_part()
        self._write_manifest(complete=True)

    def _part_name(self) -> str:
        return f"part-{len(self.parts):06d}{self.suffix}"

    def _temp_path(self) -> Path:
        return self.directory / f".{self._part_name()}"

    def _finish_part(self) -> None:
        temp, final = self._temp_path(), self.directory / self._part_name()
        self._end_part(temp)
        _fsync_file(temp)
        os.replace(temp, final)
        self.parts.append({"file": final.name, "records": self._in_part})
        self._in_part = 0
        self._write_manifest(complete=False)

    def _write_manifest(self, complete: bool) -> None:
        data = {
            "format": self.output_format,
            "parts": self.parts,
            "records": sum(part["records"] for part in self.parts),
            "complete": complete,
        }
        temp = self.directory / f".{MANIFEST}.tmp"
        temp.write_text(json.dumps(data, indent=1), encoding="utf8")
        _fsync_file(temp)
        os.replace(temp, self.directory / MANIFEST)
        _fsync_dir(self.directory)

    def _start_part(self, path: Path) -> None:
        raise NotImplementedError

    def _write_part(self, results: List[Annotated]) -> None:
        raise NotImplementedError

    def _end_part(self, path: Path) -> None:
        raise NotImplementedError


class DocBinPartWriter(PartWriter):
    """Parts are DocBin files with user_data: id, line, error, span._.confidence."""

    output_format = "docbin"
    with_docs = True

    def _start_part(self, path: Path) -> None:
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab

        self._vocab = Vocab()  # one per part, so strings do not pile up
        self._doc_bin = DocBin(store_user_data=True)

    def _write_part(self, results: List[Annotated]) -> None:
        from spacy.tokens import Doc

        for result in results:
            if result.doc_bytes is not None:
                doc = Doc(self._vocab).from_bytes(result.doc_bytes)
            else:
                doc = Doc(self._vocab, words=[])
                doc.user_data.update({key: result.row.get(key) for key in ("id", "line", "error")})
            self._doc_bin.add(doc)

    def _end_part(self, path: Path) -> None:
        path.write_bytes(self._doc_bin.to_bytes())
        del self._doc_bin, self._vocab


class ParquetPartWriter(PartWriter):
    """Parts are Parquet files, one row group per batch."""

    output_format = "parquet"

    def _start_part(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self._schema = None
        self._path = path
        self._writer: Optional[Any] = None
        self._pq = pq

    def _write_part(self, results: List[Annotated]) -> None:
        import pyarrow as pa

        rows = [parquet_row(result.row) for result in results]
        if self._writer is None:
            self._schema = parquet_schema()
            self._writer = self._pq.ParquetWriter(self._path, self._schema)
        self._writer.write_table(pa.Table.from_pylist(rows, schema=self._schema))

    def _end_part(self, path: Path) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None


def parquet_schema() -> Any:
    """Output columns; corrections and corrected_text are null without a char_spell component."""
    import pyarrow as pa

    entity = pa.struct(
        [("label", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("confidence", pa.float64())]
    )
    suggestion = pa.struct([("candidate", pa.string()), ("probability", pa.float64())])
    correction = pa.struct(
        [("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("suggestions", pa.list_(suggestion))]
    )
    fields = [
        ("id", pa.string()),
        ("line", pa.int64()),
        ("text", pa.string()),
        ("entities", pa.list_(entity)),
        ("error", pa.string()),
        ("corrections", pa.list_(correction)),
        ("corrected_text", pa.string()),
    ]
    return pa.schema(fields)


def parquet_row(row: Dict[str, Any]) -> Dict[str, Any]:
    """A JSON output row in the Parquet schema's shape (suggestion pairs as structs)."""
    converted = dict(row)
    if "corrections" in row:
        converted["corrections"] = [
            {**item, "suggestions": [{"candidate": c, "probability": p} for c, p in item["suggestions"]]}
            for item in row["corrections"]
        ]
    return converted


def _complete_lines(path: Path) -> "tuple[int, int]":
    """(number of complete lines, byte length up to the end of the last one)."""
    count = offset = end = 0
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block.rfind(b"\n")
            if last >= 0:
                end = offset + last + 1
            offset += len(block)
    return count, end


def _fsync_file(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
