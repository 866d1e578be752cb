"""Command line: `python -m spacy_rnn_ner COMMAND ...`.

Each command lives in its own module exposing `main(argv) -> int` and a
one-line module docstring; modules are imported only when their command runs.
"""
import importlib
import sys
from typing import List, Optional

COMMANDS = {
    "convert": "spacy_rnn_ner.cli.convert",
    "evaluate": "spacy_rnn_ner.cli.evaluate",
    "annotate": "spacy_rnn_ner.cli.annotate",
}


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"Unknown command '{name}'.\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name])
    return module.main(rest)


def _usage() -> str:
    lines = ["Usage: python -m spacy_rnn_ner COMMAND [ARGS]", "", "Commands:"]
    for name, module_name in COMMANDS.items():
        try:
            doc = (importlib.import_module(module_name).__doc__ or "").strip().splitlines()[0]
        except ImportError:
            doc = "(not available in this installation)"
        lines.append(f"  {name:10} {doc}")
    lines.append("\nRun `python -m spacy_rnn_ner COMMAND --help` for a command's options.")
    return "\n".join(lines)
