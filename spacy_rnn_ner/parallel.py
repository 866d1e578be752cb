"""Make torch-backed pipelines safe for `nlp.pipe(texts, n_process=N)`.

On Linux, `nlp.pipe(n_process>1)` forks worker processes. If the parent has
already run torch with more than one intra-op thread, the forked children
inherit a broken OpenMP thread pool and hang on their first parallel torch op
(spaCy #6662, #4667). `install_fork_hook()` registers a handler that runs in
every forked child and limits torch to one thread there, before any torch op
runs, so the parent keeps all its threads and the workers never hang.

Nothing here imports torch: the handler only touches torch if the parent had
already imported it.
"""
import os
import sys
from typing import Optional

WORKER_THREADS_ENV = "SPACY_RNN_NER_WORKER_THREADS"

_hook_installed = False


def install_fork_hook() -> None:
    """Limit torch to one thread in every process forked from now on (idempotent).

    The thread count in children can be changed with the environment variable
    SPACY_RNN_NER_WORKER_THREADS (read in the child).
    """
    global _hook_installed
    if _hook_installed or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(after_in_child=_limit_threads_in_child)
    _hook_installed = True


def limit_torch_threads(n_threads: Optional[int] = None) -> None:
    """Set torch's intra-op threads (default: worker_threads()), if torch is imported."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.set_num_threads(n_threads if n_threads is not None else worker_threads())


def worker_threads() -> int:
    """Torch threads per worker process: SPACY_RNN_NER_WORKER_THREADS or 1."""
    value = os.environ.get(WORKER_THREADS_ENV, "1")
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def _limit_threads_in_child() -> None:
    try:
        limit_torch_threads()
    except Exception:  # never let a fork handler break the child
        pass
