"""Convert CoNLL-style column files to spaCy DocBin (.spacy) files, documents kept whole."""
import argparse
from pathlib import Path
from typing import List

from spacy.tokens import DocBin
from spacy.vocab import Vocab

from ..corpora.iob import TAG_SCHEMES, CorpusFormatError, column_separator, read_iob_docs


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn_ner convert", description=__doc__)
    parser.add_argument("input", type=Path, help="column file (CoNLL-2003, WNUT-17, OntoNotes, ...)")
    parser.add_argument("output", type=Path, help=".spacy file to write")
    parser.add_argument("--ner-column", type=int, default=-1, help="index of the NER column (default: last)")
    parser.add_argument("--separator", default=None, help="column separator (default: any whitespace); '\\t' for TAB")
    parser.add_argument("--tag-scheme", default="IOB2", choices=list(TAG_SCHEMES))
    parser.add_argument("--strict", action="store_true", help="reject tags that break the scheme")
    parser.add_argument("--n-sents", type=int, default=0, help="also cut documents every N sentences")
    parser.add_argument("--max-doc-tokens", type=int, default=0, help="also cut documents past N tokens (at a sentence end)")
    args = parser.parse_args(argv)
    doc_bin = DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE", "SENT_START"], store_user_data=False)
    n_tokens = n_ents = 0
    try:
        docs = read_iob_docs(
            Vocab(), args.input, args.ner_column, column_separator(args.separator), args.tag_scheme, args.strict,
            args.n_sents, max_doc_tokens=args.max_doc_tokens,
        )
        for doc in docs:
            doc_bin.add(doc)
            n_tokens += len(doc)
            n_ents += len(doc.ents)
    except (CorpusFormatError, ValueError) as err:
        print(f"error: {err}")
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    doc_bin.to_disk(args.output)
    print(f"{args.output}: {len(doc_bin)} documents, {n_tokens} tokens, {n_ents} entities")
    return 0
