"""Streaming input readers: text lines, JSON lines, Parquet and Hugging Face datasets.

Every input line or row becomes exactly one `InputRecord`, in input order. A
record that cannot be annotated (invalid UTF-8, not JSON, a missing field, too
long...) carries an `error` naming the input and its line or row number instead
of a text, so the output keeps one record per input position.
"""
import json
import re
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, List, NamedTuple, Optional, Tuple

INPUT_FORMATS = ("text", "jsonl", "parquet", "hf")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
HUB_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
ROW_BATCH = 1024
UTF8_BOM = b"\xef\xbb\xbf"


class InputError(ValueError):
    """The input as a whole cannot be read (missing file or column, unknown split...)."""


class InputRecord(NamedTuple):
    index: int  # 0-based position in the input
    line: int  # 1-based line (text, JSON lines) or row (Parquet, datasets) number
    id: Optional[str]
    text: Optional[str]
    error: Optional[str]
    where: str = ""  # "FILE line N" or "FILE row N", for messages about this record


class ReaderSettings(NamedTuple):
    text_field: str = "text"
    id_field: Optional[str] = None
    max_chars: int = 1_000_000
    split: Optional[str] = None


def detect_input_format(path: str) -> str:
    """Guess the input format from the path: directory or hub name -> hf."""
    location = Path(path)
    if location.is_dir():
        return "hf"
    suffix = location.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if location.exists():
        return "text"
    if HUB_NAME.match(path):
        return "hf"
    raise InputError(f"Input not found: {path}")


def count_records(path: str, input_format: str, settings: ReaderSettings) -> Optional[int]:
    """Number of records in the input, if it can be known cheaply (for the progress bar)."""
    if input_format in ("text", "jsonl"):
        return _count_lines(Path(path))
    if input_format == "parquet":
        return _parquet_file(path).metadata.num_rows
    dataset = _load_dataset(path, settings.split)
    return len(dataset) if hasattr(dataset, "__len__") else None


def read_records(path: str, input_format: str, settings: ReaderSettings, skip: int = 0) -> Iterator[InputRecord]:
    """Stream the input's records in order, leaving out the first `skip`."""
    if input_format == "text":
        return _read_text(Path(path), settings, skip)
    if input_format == "jsonl":
        return _read_jsonl(Path(path), settings, skip)
    if input_format == "parquet":
        return _read_parquet(path, settings, skip)
    if input_format == "hf":
        return _read_dataset(path, settings, skip)
    raise InputError(f"Unknown input format '{input_format}': expected one of {', '.join(INPUT_FORMATS)}.")


def check_input(path: str, input_format: str, settings: ReaderSettings) -> None:
    """Fail early, with a clear message, on inputs that cannot be read at all."""
    if input_format in ("text", "jsonl"):
        if not Path(path).is_file():
            raise InputError(f"Input file not found: {path}")
    elif input_format == "parquet":
        names = _parquet_file(path).schema_arrow.names
        _check_columns(path, names, settings)
    else:
        names = _load_dataset(path, settings.split).column_names  # None for some streaming datasets
        if names is not None:
            _check_columns(path, list(names), settings)


# Text and JSON lines


def _read_text(path: Path, settings: ReaderSettings, skip: int) -> Iterator[InputRecord]:
    # UTF-8 takes at most 4 bytes per character.
    for line_no, raw, too_long in _numbered_lines(path, settings.max_chars * 4 + 1, skip):
        index, record_id = line_no - 1, str(line_no)
        where = f"{path} line {line_no}"
        if too_long:
            yield _error(index, line_no, record_id, f"{where}: over --max-chars {settings.max_chars}")
            continue
        text, problem = _decode(raw, where)
        if problem is not None:
            yield _error(index, line_no, record_id, problem)
        elif len(text) > settings.max_chars:
            yield _error(index, line_no, record_id, f"{where}: {len(text)} characters, over --max-chars {settings.max_chars}")
        else:
            yield InputRecord(index, line_no, record_id, text, None, where)


def _read_jsonl(path: Path, settings: ReaderSettings, skip: int) -> Iterator[InputRecord]:
    # A JSON line holds the text (up to 12 bytes per character when escaped)
    # and other fields: this bound only keeps huge lines out of memory; the
    # text's own length is checked once parsed.
    byte_limit = settings.max_chars * 12 + 65536
    for line_no, raw, too_long in _numbered_lines(path, byte_limit, skip):
        yield _jsonl_record(path, line_no, raw, too_long, settings)


def _jsonl_record(path: Path, line_no: int, raw: bytes, too_long: bool, settings: ReaderSettings) -> InputRecord:
    index = line_no - 1
    where = f"{path} line {line_no}"
    record_id = None if settings.id_field else str(line_no)
    if too_long:
        return _error(index, line_no, record_id, f"{where}: line too long for --max-chars {settings.max_chars}")
    decoded, problem = _decode(raw, where)
    if problem is not None:
        return _error(index, line_no, record_id, problem)
    try:
        value = json.loads(decoded)
    except ValueError as err:
        reason = "empty line" if not decoded.strip() else str(err)
        return _error(index, line_no, record_id, f"{where}: not valid JSON ({reason})")
    if not isinstance(value, dict):
        return _error(index, line_no, record_id, f"{where}: expected a JSON object, got {type(value).__name__}")
    return _field_record(value, index, line_no, where, settings)


def _field_record(value: Dict[str, Any], index: int, line_no: int, where: str, settings: ReaderSettings) -> InputRecord:
    """Validate the text and id fields of one JSON object or table row."""
    record_id: Optional[str] = str(line_no)
    if settings.id_field is not None:
        if value.get(settings.id_field) is None:
            return _error(index, line_no, None, f"{where}: missing id field '{settings.id_field}'")
        record_id = _id_string(value[settings.id_field])
        if not _is_unicode(record_id):
            record_id = _escaped(record_id)
            return _error(index, line_no, record_id, f"{where}: id field '{settings.id_field}' is not valid Unicode "
                          f"(a lone surrogate: {record_id})")
    if settings.text_field not in value or value[settings.text_field] is None:
        return _error(index, line_no, record_id, f"{where}: missing text field '{settings.text_field}'")
    text = value[settings.text_field]
    if not isinstance(text, str):
        return _error(
            index, line_no, record_id, f"{where}: text field '{settings.text_field}' is not a string ({type(text).__name__})"
        )
    if len(text) > settings.max_chars:
        return _error(index, line_no, record_id, f"{where}: {len(text)} characters, over --max-chars {settings.max_chars}")
    if not _is_unicode(text):
        return _error(index, line_no, record_id, f"{where}: text field '{settings.text_field}' is not valid Unicode "
                      "(it holds a lone surrogate)")
    return InputRecord(index, line_no, record_id, text, None, where)


def _numbered_lines(path: Path, byte_limit: int, skip: int) -> Iterator[Tuple[int, bytes, bool]]:
    """(line number, bytes without the line break, too long) for each line after `skip`.

    Lines are split on b"\\n" only; a UTF-8 byte order mark opening the file is
    dropped. A line over byte_limit bytes is not kept in memory.
    """
    with path.open("rb") as file:
        line_no = 0
        while True:
            raw, too_long = _read_line(file, byte_limit)
            if not raw and not too_long:
                return
            line_no += 1
            if line_no <= skip:
                continue
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if line_no == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            yield line_no, raw, too_long


def _read_line(file: BinaryIO, byte_limit: int) -> Tuple[bytes, bool]:
    raw = file.readline(byte_limit + 2)
    if raw.endswith(b"\n") or len(raw) < byte_limit + 2:
        return raw, False
    while raw and not raw.endswith(b"\n"):  # drain the rest of the overlong line
        raw = file.readline(1 << 20)
    return b"", True


def _decode(raw: bytes, where: str) -> Tuple[str, Optional[str]]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return "", f"{where}: invalid UTF-8 at byte {err.start} ({err.reason})"


def _count_lines(path: Path) -> int:
    count = 0
    last = b"\n"
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (0 if last == b"\n" else 1)


# Parquet and Hugging Face datasets


def _parquet_file(path: str) -> Any:
    import pyarrow.parquet as pq

    if not Path(path).exists():
        raise InputError(f"Input file not found: {path}")
    try:
        return pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several error types here
        raise InputError(f"Cannot read Parquet file {path}: {err}") from err


def _read_parquet(path: str, settings: ReaderSettings, skip: int) -> Iterator[InputRecord]:
    parquet = _parquet_file(path)
    columns = _columns(settings)
    row = 0
    for batch in parquet.iter_batches(batch_size=ROW_BATCH, columns=columns):
        rows = batch.to_pylist()
        if row + len(rows) <= skip:
            row += len(rows)
            continue
        for value in rows:
            row += 1
            if row > skip:
                yield _field_record(value, row - 1, row, f"{path} row {row}", settings)


def _read_dataset(path: str, settings: ReaderSettings, skip: int) -> Iterator[InputRecord]:
    dataset = _load_dataset(path, settings.split)
    columns = _columns(settings)
    if hasattr(dataset, "__len__"):
        dataset = dataset.select_columns(columns)
        if skip:
            dataset = dataset.select(range(min(skip, len(dataset)), len(dataset)))
        rows = (value for batch in dataset.iter(batch_size=ROW_BATCH) for value in _batch_rows(batch))
    else:  # streaming IterableDataset from the hub
        rows = iter(dataset.skip(skip) if skip else dataset)
    for row, value in enumerate(rows, skip + 1):
        yield _field_record(value, row - 1, row, f"{path} row {row}", settings)


def _batch_rows(batch: Dict[str, List[Any]]) -> Iterator[Dict[str, Any]]:
    names = list(batch)
    for values in zip(*(batch[name] for name in names)):
        yield dict(zip(names, values))


def _load_dataset(path: str, split: Optional[str]) -> Any:
    import datasets

    if Path(path).is_dir():
        try:
            loaded = datasets.load_from_disk(path)
        except FileNotFoundError as err:
            raise InputError(f"{path} is not a dataset saved with save_to_disk: {err}") from err
        if isinstance(loaded, datasets.DatasetDict):
            return _pick_split(path, loaded, split)
        return loaded
    try:
        return datasets.load_dataset(path, split=split or "train", streaming=True)
    except Exception as err:
        raise InputError(f"Cannot load the Hugging Face dataset '{path}': {err}") from err


def _pick_split(path: str, loaded: Any, split: Optional[str]) -> Any:
    splits = list(loaded.keys())
    if split is None and len(splits) == 1:
        return loaded[splits[0]]
    if split is None or split not in loaded:
        raise InputError(f"{path} holds the splits {', '.join(splits)}: choose one with --split.")
    return loaded[split]


def _columns(settings: ReaderSettings) -> List[str]:
    return [settings.text_field] + ([settings.id_field] if settings.id_field else [])


def _check_columns(path: str, names: List[str], settings: ReaderSettings) -> None:
    missing = [name for name in _columns(settings) if name not in names]
    if missing:
        raise InputError(
            f"{path} has no column {', '.join(repr(m) for m in missing)} (columns: {', '.join(names)}); "
            "choose them with --text-field / --id-field."
        )


def _is_unicode(text: str) -> bool:
    """False for strings that cannot be written as UTF-8 (JSON's lone surrogates, "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _id_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _error(index: int, line: int, record_id: Optional[str], message: str) -> InputRecord:
    return InputRecord(index, line, record_id, None, message)
