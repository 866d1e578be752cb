"""Reader for Hugging Face `datasets` NER data: hub datasets or local JSON lines, Parquet, CSV, Arrow.

Each row holds one sentence: a list of tokens and a list of tags (strings, or
integers named by the column's ClassLabel feature or by `tag_names`). Rows are
read in order and grouped into documents of `n_sents` sentences.

`datasets` >= 4 no longer runs dataset loading scripts: a hub dataset must
store its data files (e.g. Parquet) in the repository. `datasets` is imported
only when a corpus is read.
"""
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.iob_utils import biluo_tags_to_spans
from spacy.util import registry
from spacy.vocab import Vocab

from .iob import CorpusFormatError, Sentence, _check_scheme, _Repairs, _to_biluo

BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv", ".tsv": "csv", ".arrow": "arrow"}
DATA_FORMATS = ("json", "parquet", "csv", "arrow")


@registry.readers("spacy_rnn_ner.HFDatasetCorpus.v1")
def create_hf_corpus(
    path: str,
    split: str = "train",
    tokens_column: str = "tokens",
    tags_column: str = "ner_tags",
    tag_names: Optional[List[str]] = None,
    tag_scheme: str = "IOB2",
    strict: bool = False,
    n_sents: int = 1,
    limit: int = 0,
    data_format: Optional[str] = None,
    config_name: Optional[str] = None,
    streaming: bool = False,
    cache_dir: Optional[str] = None,
    labels: Optional[List[str]] = None,
) -> Callable[[Language], Iterator[Example]]:
    """Read Examples from a `datasets` dataset, one Example per `n_sents` rows.

    path (str): A hub dataset name, a data file (.jsonl, .json, .parquet, .csv, .tsv,
        .arrow), a folder saved with `save_to_disk`, or a folder of data files.
    split (str): The split to read.
    tokens_column (str): Column holding each row's tokens (a list, or a space-separated string).
    tags_column (str): Column holding each row's tags (strings or integer ids).
    tag_names (Optional[List[str]]): Names of integer tags, by id; default: the
        column's ClassLabel names.
    tag_scheme (str): "IOB1", "IOB2", "BILUO" or "IOBES".
    strict (bool): Reject tag sequences that break the scheme.
    n_sents (int): Rows (sentences) per document.
    limit (int): Stop after this many documents (0: no limit).
    data_format (Optional[str]): "json", "parquet", "csv" or "arrow" for a data file
        whose suffix does not tell.
    config_name (Optional[str]): The dataset's configuration on the hub.
    streaming (bool): Stream the rows instead of preparing the dataset on disk first.
    cache_dir (Optional[str]): Where `datasets` keeps its cache.
    labels (Optional[List[str]]): The entity labels allowed; another label is an error.
    """
    tag_scheme = _check_scheme(tag_scheme)
    if n_sents < 1:
        raise ValueError(f"n_sents must be at least 1, got {n_sents}")
    if data_format is not None and data_format not in DATA_FORMATS:
        raise ValueError(f"Unknown data_format '{data_format}': expected one of {', '.join(DATA_FORMATS)}.")

    def read(nlp: Language) -> Iterator[Example]:
        dataset = load_split(path, split, data_format, config_name, streaming, cache_dir)
        docs = rows_to_docs(
            nlp.vocab, dataset, f"{path}[{split}]", tokens_column, tags_column,
            tag_names or _class_label_names(dataset, tags_column), tag_scheme, strict, n_sents,
            set(labels) if labels is not None else None,
        )
        for i, doc in enumerate(docs):
            if limit and i >= limit:
                break
            predicted = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
            yield Example(predicted, doc)

    return read


def load_split(
    path: str,
    split: str,
    data_format: Optional[str] = None,
    config_name: Optional[str] = None,
    streaming: bool = False,
    cache_dir: Optional[str] = None,
) -> Any:
    """Load one split of a dataset from a local file or folder, or from the hub."""
    import datasets

    local = Path(path)
    if local.is_dir() and _is_saved_dataset(local):
        loaded = datasets.load_from_disk(str(local))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise ValueError(f"{path}: no split '{split}' (found: {', '.join(loaded)})")
            return loaded[split]
        return loaded
    builder = data_format or BUILDERS.get(local.suffix.lower())
    try:
        if local.is_file():
            if builder is None:
                raise ValueError(f"{path}: cannot tell the data format from the suffix; set data_format")
            options = {"delimiter": "\t"} if local.suffix.lower() == ".tsv" else {}
            return datasets.load_dataset(
                builder, data_files={split: str(local)}, split=split, streaming=streaming, cache_dir=cache_dir, **options
            )
        return datasets.load_dataset(path, config_name, split=split, streaming=streaming, cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as err:
        raise ValueError(f"Cannot load dataset '{path}' (split '{split}'): {err}") from err
    except RuntimeError as err:
        if "script" in str(err).lower():
            raise ValueError(
                f"Cannot load dataset '{path}': it needs a loading script, which datasets>=4 no longer runs. "
                "Use a copy that stores its data files (e.g. Parquet), or download the files and pass their path."
            ) from err
        raise


def _is_saved_dataset(folder: Path) -> bool:
    return (folder / "dataset_dict.json").exists() or (folder / "state.json").exists()


def _class_label_names(dataset: Any, tags_column: str) -> Optional[List[str]]:
    """The ClassLabel names of a tags column (a list of ClassLabel), if it has them."""
    features = getattr(dataset, "features", None)
    if not features or tags_column not in features:
        return None
    feature = getattr(features[tags_column], "feature", None)
    names = getattr(feature, "names", None)
    return list(names) if names else None


def rows_to_docs(
    vocab: Vocab,
    rows: Iterable[dict],
    source: str,
    tokens_column: str,
    tags_column: str,
    tag_names: Optional[Sequence[str]],
    tag_scheme: str,
    strict: bool = False,
    n_sents: int = 1,
    labels: Optional[Set[str]] = None,
) -> Iterator[Doc]:
    """Turn rows of tokens and tags into Docs of `n_sents` sentences, in row order."""
    repairs = _Repairs()
    document: List[Tuple[List[str], List[str]]] = []
    n_empty = 0
    try:
        for row_index, row in enumerate(rows):
            words, tags = _read_row(row, row_index, source, tokens_column, tags_column, tag_names)
            if not words:
                n_empty += 1
                continue
            try:
                biluo = _to_biluo(Path(source), Sentence(words, tags, 0), tag_scheme, strict, labels, repairs)
            except CorpusFormatError as err:
                raise CorpusFormatError(source, row_index, f"token {err.line_no}: {err.problem}", unit="row") from None
            document.append((words, biluo))
            if len(document) >= n_sents:
                yield _make_doc(vocab, document)
                document = []
        if document:
            yield _make_doc(vocab, document)
    except GeneratorExit:  # the reader stopped early (a limit): still report what it saw
        _warn_rows(source, repairs, tag_scheme, n_empty)
        raise
    _warn_rows(source, repairs, tag_scheme, n_empty)


def _warn_rows(source: str, repairs: _Repairs, tag_scheme: str, n_empty: int) -> None:
    if repairs.count:
        warnings.warn(f"{source}: {repairs.count} row(s) have tags that break the {tag_scheme} scheme, read leniently "
                      f"(first: {repairs.example}). Check tag_scheme, or use strict=True to reject them.", stacklevel=3)
    if n_empty:
        warnings.warn(f"{source}: {n_empty} row(s) without tokens were skipped.", stacklevel=3)


def _read_row(
    row: dict, row_index: int, source: str, tokens_column: str, tags_column: str, tag_names: Optional[Sequence[str]]
) -> Tuple[List[str], List[str]]:
    for column in (tokens_column, tags_column):
        if column not in row:
            raise CorpusFormatError(source, row_index, f"no column '{column}' (columns: {', '.join(row)})", unit="row")
        if row[column] is None:
            raise CorpusFormatError(source, row_index, f"no value in column '{column}'", unit="row")
    words = _as_list(row[tokens_column])
    raw_tags = _as_list(row[tags_column])
    if len(words) != len(raw_tags):
        raise CorpusFormatError(source, row_index, f"{len(words)} tokens but {len(raw_tags)} tags", unit="row")
    tags = [_tag_name(tag, tag_names, source, row_index) for tag in raw_tags]
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise CorpusFormatError(source, row_index, f"token {i} is {word!r}, not a non-empty string", unit="row")
    return words, tags


def _as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return list(value)


def _tag_name(tag: Union[str, int], tag_names: Optional[Sequence[str]], source: str, row_index: int) -> str:
    if isinstance(tag, str):
        return tag
    if isinstance(tag, bool) or not isinstance(tag, int):
        raise CorpusFormatError(source, row_index, f"tag {tag!r} is neither a string nor an integer id", unit="row")
    if tag_names is None:
        raise CorpusFormatError(
            source, row_index, "integer tags need names: the column has no ClassLabel feature; set tag_names", unit="row"
        )
    if not 0 <= tag < len(tag_names):
        raise CorpusFormatError(source, row_index, f"tag id {tag} has no name ({len(tag_names)} tag names)", unit="row")
    return tag_names[tag]


def _make_doc(vocab: Vocab, sentences: List[Tuple[List[str], List[str]]]) -> Doc:
    words = [word for sentence_words, _ in sentences for word in sentence_words]
    sent_starts = [i == 0 for sentence_words, _ in sentences for i in range(len(sentence_words))]
    biluo = [tag for _, sentence_tags in sentences for tag in sentence_tags]
    doc = Doc(vocab, words=words, spaces=[True] * (len(words) - 1) + [False], sent_starts=sent_starts)
    doc.ents = biluo_tags_to_spans(doc, biluo)
    return doc
