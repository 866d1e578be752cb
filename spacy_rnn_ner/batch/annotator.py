"""Run a pipeline over one batch of input records and turn each doc into a plain output row.

The same `BatchAnnotator` runs in the main process, in worker processes and in
Ray actors: it loads the pipeline itself, so a loaded `nlp` never has to be
pickled or shipped. Each batch runs inside `nlp.memory_zone()`, and no Doc
leaves the zone: results are plain dicts (and optional `Doc.to_bytes()`).
"""
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from .readers import InputRecord

CONFIDENCE_ATTR = "confidence"
SPELL_FACTORY = "char_spell"


class Annotated(NamedTuple):
    index: int  # position in the input
    row: Dict[str, Any]  # the output record: id, line, text, entities... or error
    n_words: int
    doc_bytes: Optional[bytes]  # Doc.to_bytes() with user_data, for DocBin output


class BatchAnnotator:
    """Annotate batches of `InputRecord`s with a pipeline loaded from `model`.

    model (Union[str, Path]): A pipeline package name or directory.
    max_chars (int): Longest text accepted; raises nlp.max_length if needed.
    with_docs (bool): Also return each doc's bytes (for DocBin output).
    torch_threads (Optional[int]): Torch intra-op threads in this process.
    """

    def __init__(
        self,
        model: Union[str, Path],
        *,
        max_chars: int = 1_000_000,
        with_docs: bool = False,
        torch_threads: Optional[int] = None,
    ) -> None:
        import spacy

        if torch_threads is not None:
            from ..parallel import limit_torch_threads

            limit_torch_threads(torch_threads)
        self.nlp: Language = spacy.load(model)
        self.nlp.max_length = max(self.nlp.max_length, max_chars + 1)
        self.with_docs = with_docs
        self.with_spelling = has_spelling(self.nlp)

    def __call__(self, records: List[InputRecord]) -> List[Annotated]:
        """Annotate the records' texts; error records pass through unchanged."""
        valid = [record for record in records if record.error is None]
        done: Dict[int, Annotated] = {}
        with self.nlp.memory_zone():
            try:
                docs = list(self.nlp.pipe(record.text for record in valid))
                for record, doc in zip(valid, docs):
                    done[record.index] = self._annotated(record, doc)
            except Exception:
                done = {}
            if len(done) < len(valid):  # a doc broke the batch: find it, keep the others
                for record in valid:
                    done[record.index] = self._annotate_one(record)
        return [done.get(record.index) or error_result(record) for record in records]

    def _annotate_one(self, record: InputRecord) -> Annotated:
        try:
            return self._annotated(record, self.nlp(record.text))
        except Exception as err:
            where = record.where or f"record {record.line}"
            message = f"{where}: the pipeline failed on this record: {type(err).__name__}: {err}"
            return error_result(record._replace(error=message))

    def _annotated(self, record: InputRecord, doc: Doc) -> Annotated:
        row = doc_row(record, doc, self.with_spelling)
        doc_bytes = None
        if self.with_docs:
            doc.user_data.update(record_user_data(record))
            doc_bytes = doc.to_bytes()
        return Annotated(record.index, row, len(doc), doc_bytes)


def has_spelling(nlp: Language) -> bool:
    """Whether the pipeline has a char_spell component."""
    return any(nlp.get_pipe_meta(name).factory == SPELL_FACTORY for name in nlp.pipe_names)


def doc_row(record: InputRecord, doc: Doc, with_spelling: bool) -> Dict[str, Any]:
    """The output record of an annotated doc."""
    row: Dict[str, Any] = {
        "id": record.id,
        "line": record.line,
        "text": doc.text,
        "entities": [entity_dict(span) for span in doc.ents],
    }
    if with_spelling:
        row["corrections"] = corrections(doc)
        if Doc.has_extension("corrected_text"):
            corrected = doc._.corrected_text
            row["corrected_text"] = doc.text if corrected is None else str(corrected)
    return row


def entity_dict(span: Span) -> Dict[str, Any]:
    confidence = span._.get(CONFIDENCE_ATTR) if Span.has_extension(CONFIDENCE_ATTR) else None
    return {
        "label": span.label_,
        "start": span.start_char,
        "end": span.end_char,
        "text": span.text,
        "confidence": None if confidence is None else float(confidence),
    }


def corrections(doc: Doc) -> List[Dict[str, Any]]:
    """Tokens with spelling suggestions: offsets, text and [candidate, probability] pairs."""
    if not Token.has_extension("suggestions"):
        return []
    found = []
    for token in doc:
        suggestions = token._.suggestions
        if suggestions:
            found.append(
                {
                    "start": token.idx,
                    "end": token.idx + len(token.text),
                    "text": token.text,
                    "suggestions": [[str(candidate), float(prob)] for candidate, prob in suggestions],
                }
            )
    return found


def error_result(record: InputRecord) -> Annotated:
    row = {"id": record.id, "line": record.line, "error": record.error}
    return Annotated(record.index, row, 0, None)


def record_user_data(record: InputRecord) -> Dict[str, Any]:
    """What DocBin output stores about the input record in doc.user_data."""
    data: Dict[str, Any] = {"id": record.id, "line": record.line}
    if record.error is not None:
        data["error"] = record.error
    return data
