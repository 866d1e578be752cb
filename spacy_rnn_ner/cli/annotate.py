"""Annotate text lines, JSON lines, Parquet or a Hugging Face dataset with a pipeline; resumable."""
import argparse
import sys
from typing import Any, Dict, List

from ..batch.engines import JobSummary, plain_engine, run_job
from ..batch.ray_engine import RayUnavailable, ray_engine
from ..batch.readers import INPUT_FORMATS, InputError, ReaderSettings, check_input, count_records, detect_input_format, read_records
from ..batch.writers import OUTPUT_FORMATS, OutputError, detect_output_format, make_writer

EPILOG = """\
Rerun the same command after an interruption to resume: records already in
OUTPUT are kept and the rest is appended, each record exactly once, in input
order (--overwrite starts afresh). Bad records (invalid UTF-8, not JSON, a
missing field, over --max-chars) become error records at their position.
See docs/batch.md.
"""


def main(argv: List[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        summary = annotate(args)
    except (InputError, OutputError, RayUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(summary.describe())
    return 0


def annotate(args: argparse.Namespace) -> JobSummary:
    """Run the annotation job described by the parsed arguments."""
    settings = ReaderSettings(args.text_field, args.id_field, args.max_chars, args.split)
    input_format = detect_input_format(args.input) if args.input_format == "auto" else args.input_format
    output_format = detect_output_format(args.output) if args.output_format == "auto" else args.output_format
    check_input(args.input, input_format, settings)
    writer = make_writer(args.output, output_format, part_size=args.part_size, overwrite=args.overwrite)
    annotator_settings: Dict[str, Any] = {"model": args.model, "max_chars": args.max_chars, "with_docs": writer.with_docs}
    if args.torch_threads is not None:
        annotator_settings["torch_threads"] = args.torch_threads
    engine = _engine(args, annotator_settings)
    total = count_records(args.input, input_format, settings) if not args.no_progress else None
    return run_job(
        lambda skip: read_records(args.input, input_format, settings, skip),
        writer,
        engine,
        batch_size=args.batch_size,
        total=total,
        progress=not args.no_progress,
    )


def _engine(args: argparse.Namespace, annotator_settings: Dict[str, Any]) -> Any:
    if args.batch_size < 1:
        raise ValueError("--batch-size must be at least 1.")
    if args.engine == "plain":
        return plain_engine(annotator_settings, args.n_process)
    return ray_engine(
        annotator_settings,
        n_actors=args.n_process,
        batch_size=args.batch_size,
        window=args.ray_window,
        address=args.ray_address,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m spacy_rnn_ner annotate",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="pipeline directory or package name")
    parser.add_argument("input", help="text file (one document a line), .jsonl, .parquet, dataset directory or hub name")
    parser.add_argument("output", help=".jsonl file, or a directory of parts for .spacy / .parquet output")
    parser.add_argument("--input-format", default="auto", choices=("auto",) + INPUT_FORMATS)
    parser.add_argument("--output-format", default="auto", choices=("auto",) + OUTPUT_FORMATS)
    parser.add_argument("--text-field", default="text", help="text field or column (default: text)")
    parser.add_argument("--id-field", default=None, help="id field or column (default: the line or row number)")
    parser.add_argument("--split", default=None, help="dataset split (Hugging Face input)")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per batch / memory zone / output flush")
    parser.add_argument("--n-process", type=int, default=1, help="worker processes (plain) or actors (ray)")
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch threads per process (default: torch's own; workers: 1)"
    )
    parser.add_argument("--max-chars", type=int, default=1_000_000, help="longer documents become error records")
    parser.add_argument("--part-size", type=int, default=10000, help="records per part file (DocBin, Parquet)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    parser.add_argument("--engine", default="plain", choices=("plain", "ray"))
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local instance)")
    parser.add_argument("--ray-window", type=int, default=50000, help="records per Ray Data dataset (driver memory)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser
