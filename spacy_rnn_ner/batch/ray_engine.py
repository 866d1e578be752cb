"""The Ray engine: annotate with Ray Data `map_batches` on a pool of actors.

The driver reads the input and writes the output with the same readers and
writers as the plain engine (so formats, error records and resuming are
identical). Records go to Ray in windows of `window` records, as plain
columns; each actor loads the pipeline once (per window) in its constructor,
so a loaded `nlp` never travels through the object store, and results come
back as plain columns (a JSON row, a word count, optional doc bytes) in input
order (`preserve_order`).
"""
import json
from itertools import islice
from typing import Any, Dict, Iterator, List, Optional

import numpy

from .annotator import Annotated, BatchAnnotator
from .readers import InputRecord

INSTALL_HINT = "The Ray engine needs Ray Data: pip install 'spacy-rnn-ner[ray]'"


class RayUnavailable(RuntimeError):
    pass


def import_ray() -> Any:
    """Import ray and ray.data, or raise RayUnavailable with install instructions."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise RayUnavailable(f"{INSTALL_HINT} ({err})") from err
    return ray


class RayAnnotator:
    """Ray Data actor: loads the pipeline once, annotates batches of record columns."""

    def __init__(self, settings: Dict[str, Any]) -> None:
        from ..parallel import worker_threads

        self.annotator = BatchAnnotator(**{"torch_threads": worker_threads(), **settings})

    def __call__(self, batch: Dict[str, numpy.ndarray]) -> Dict[str, numpy.ndarray]:
        records = [InputRecord(*json.loads(record)) for record in batch["record_json"]]
        results = self.annotator(records)
        return {
            "index": numpy.array([result.index for result in results], dtype=numpy.int64),
            "row_json": numpy.array([json.dumps(result.row, ensure_ascii=False) for result in results], dtype=object),
            "n_words": numpy.array([result.n_words for result in results], dtype=numpy.int64),
            "doc_bytes": numpy.array([result.doc_bytes or b"" for result in results], dtype=object),
        }


def ray_engine(
    annotator_settings: Dict[str, Any],
    *,
    n_actors: int = 1,
    batch_size: int = 1000,
    window: int = 50000,
    address: Optional[str] = None,
    cpus_per_actor: float = 1.0,
) -> Any:
    """An engine (batches in, results out, in order) backed by Ray Data actors."""
    ray = import_ray()

    def run(batches: Iterator[List[InputRecord]]) -> Iterator[List[Annotated]]:
        _init_ray(ray, address)
        records = (record for batch in batches for record in batch)
        while True:
            chunk = list(islice(records, window))
            if not chunk:
                return
            for results in _annotate_window(ray, chunk, annotator_settings, n_actors, batch_size, cpus_per_actor):
                yield results

    return run


def _init_ray(ray: Any, address: Optional[str]) -> None:
    if ray.is_initialized():
        return
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)


def _annotate_window(
    ray: Any,
    records: List[InputRecord],
    settings: Dict[str, Any],
    n_actors: int,
    batch_size: int,
    cpus_per_actor: float,
) -> Iterator[List[Annotated]]:
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    # One JSON column: a column that is null in a whole block would not come
    # back as None from numpy batches.
    items = [{"record_json": json.dumps(record, ensure_ascii=False)} for record in records]
    n_blocks = max(1, min(len(items), -(-len(items) // batch_size)))
    dataset = ray.data.from_items(items, override_num_blocks=n_blocks).map_batches(
        RayAnnotator,
        fn_constructor_kwargs={"settings": settings},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=n_actors),
        num_cpus=cpus_per_actor,
    )
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        yield columns_to_results(batch)


def columns_to_results(batch: Dict[str, numpy.ndarray]) -> List[Annotated]:
    return [
        Annotated(int(index), json.loads(row_json), int(n_words), bytes(doc_bytes) or None)
        for index, row_json, n_words, doc_bytes in zip(batch["index"], batch["row_json"], batch["n_words"], batch["doc_bytes"])
    ]
