"""Convert a column file to a spaCy DocBin with our IOB reader (documents kept whole).

python bench/iob_to_docbin.py ../shared/corpora/conll2003/train.txt bench/data/conll2003/train.spacy
"""
import argparse

import spacy
from spacy.tokens import DocBin

from spacy_rnn_ner.corpora.iob import read_iob_docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--ner-column", type=int, default=-1)
    parser.add_argument("--separator", default=None)
    parser.add_argument("--tag-scheme", default="IOB2")
    parser.add_argument("--n-sents", type=int, default=0)
    args = parser.parse_args()
    vocab = spacy.blank("en").vocab
    docs = read_iob_docs(vocab, args.input, args.ner_column, args.separator, args.tag_scheme, n_sents=args.n_sents)
    doc_bin = DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE", "SENT_START"], store_user_data=False)
    n_docs = n_tokens = n_ents = 0
    for doc in docs:
        doc_bin.add(doc)
        n_docs += 1
        n_tokens += len(doc)
        n_ents += len(doc.ents)
    doc_bin.to_disk(args.output)
    print(f"{args.output}: {n_docs} documents, {n_tokens} tokens, {n_ents} entities")


if __name__ == "__main__":
    main()
