"""Run an annotation job: read, annotate in batches, write in input order, report.

An engine turns an iterator of record batches into an iterator of result
batches, in the same order. `plain` annotates in this process (n_process=1) or
in a pool of worker processes that each load the pipeline once; `ray` (see
ray_engine.py) runs the same `BatchAnnotator` in Ray Data actors.
"""
import multiprocessing
import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional

from spacy.util import minibatch

from .annotator import Annotated, BatchAnnotator
from .readers import InputRecord
from .writers import Writer

Engine = Callable[[Iterator[List[InputRecord]]], Iterator[List[Annotated]]]


@dataclass
class JobSummary:
    records: int = 0  # written by this run
    skipped: int = 0  # already in the output when the run started
    errors: int = 0
    words: int = 0
    seconds: float = 0.0

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0

    @property
    def docs_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        resumed = f" (resumed after {self.skipped} records already written)" if self.skipped else ""
        return (
            f"records: {self.records}{resumed}, errors: {self.errors}, words: {self.words}, "
            f"time: {self.seconds:.1f}s, {self.docs_per_second:.1f} docs/s, {self.words_per_second:.0f} words/s"
        )


def run_job(
    read: Callable[[int], Iterable[InputRecord]],
    writer: Writer,
    engine: Engine,
    *,
    batch_size: int,
    total: Optional[int] = None,
    progress: bool = True,
) -> JobSummary:
    """Annotate every record that the output does not hold yet, in order.

    read (Callable[[int], Iterable[InputRecord]]): Streams the input, skipping
        the given number of records.
    """
    summary = JobSummary(skipped=writer.open())
    bar = _progress_bar(total, summary.skipped, progress)
    start = time.perf_counter()
    expected = summary.skipped
    try:
        batches = (list(batch) for batch in minibatch(read(summary.skipped), size=batch_size))
        for results in engine(batches):
            for result in results:
                if result.index != expected:
                    raise RuntimeError(f"Engine returned record {result.index}, expected {expected}: order was lost.")
                expected += 1
            writer.write(results)
            _count(summary, results)
            if bar is not None:
                elapsed = max(time.perf_counter() - start, 1e-9)
                bar.set_postfix_str(f"{summary.words / elapsed:.0f} words/s, {summary.errors} errors", refresh=False)
                bar.update(len(results))
    finally:
        if bar is not None:
            bar.close()
    writer.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _count(summary: JobSummary, results: List[Annotated]) -> None:
    summary.records += len(results)
    summary.words += sum(result.n_words for result in results)
    summary.errors += sum(1 for result in results if "error" in result.row)


def _progress_bar(total: Optional[int], initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="doc", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


# The plain engine


def plain_engine(annotator_settings: Dict[str, Any], n_process: int = 1) -> Engine:
    """Annotate in this process, or in `n_process` worker processes."""
    if n_process < 1:
        raise ValueError("--n-process must be at least 1.")
    if n_process == 1:
        return lambda batches: _annotate_here(annotator_settings, batches)
    return lambda batches: _annotate_in_pool(annotator_settings, n_process, batches)


def _annotate_here(settings: Dict[str, Any], batches: Iterator[List[InputRecord]]) -> Iterator[List[Annotated]]:
    annotator = BatchAnnotator(**settings)
    for batch in batches:
        yield annotator(batch)


_worker_annotator: Optional[BatchAnnotator] = None


def _init_worker(settings: Dict[str, Any]) -> None:
    global _worker_annotator
    from ..parallel import worker_threads

    _worker_annotator = BatchAnnotator(**{"torch_threads": worker_threads(), **settings})


def _annotate_in_worker(batch: List[InputRecord]) -> List[Annotated]:
    assert _worker_annotator is not None
    return _worker_annotator(batch)


def _annotate_in_pool(
    settings: Dict[str, Any], n_process: int, batches: Iterator[List[InputRecord]]
) -> Iterator[List[Annotated]]:
    """Each worker loads the pipeline once; at most 2 batches per worker are in flight."""
    from ..parallel import install_fork_hook

    install_fork_hook()  # workers get one torch thread even if this process warmed torch's pool
    with ProcessPoolExecutor(n_process, mp_context=_mp_context(), initializer=_init_worker, initargs=(settings,)) as pool:
        pending: Deque[Future] = deque()
        for batch in batches:
            pending.append(pool.submit(_annotate_in_worker, batch))
            if len(pending) >= 2 * n_process:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _mp_context() -> Any:
    """fork where available (fast start); workers set their torch threads before loading.

    SPACY_RNN_NER_START_METHOD=spawn (or forkserver) picks another start method.
    """
    method = os.environ.get("SPACY_RNN_NER_START_METHOD")
    if method is None:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)
