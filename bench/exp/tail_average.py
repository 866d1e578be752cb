"""Experiment (spacy train --code): Adam whose parameter average is uniform over
the updates from `average_start` on (stochastic weight averaging with a constant
rate), instead of thinc's moving average, which weighs about the last ninth of the
updates so far."""
from thinc.api import Optimizer
from thinc.backends import get_array_ops
from spacy.util import registry


class TailAveragingAdam(Optimizer):
    __slots__ = ["average_start"]

    def __call__(self, key, weights, gradient, *, lr_scale=1.0):
        averages, self.averages = self.averages, None
        try:
            weights, gradient = super().__call__(key, weights, gradient, lr_scale=lr_scale)
        finally:
            self.averages = averages
        if averages is not None and len(weights):
            t = self.nr_update[key]
            if key not in averages:
                averages[key] = weights.copy()
            elif t < self.average_start:
                get_array_ops(weights).update_averages(averages[key], weights, t)
            else:
                averages[key] += (weights - averages[key]) / (t - self.average_start + 1)
        return weights, gradient


@registry.optimizers("bench.TailAveragingAdam.v1")
def tail_averaging_adam(
    learn_rate: float = 0.002,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    grad_clip: float = 5.0,
    L2: float = 0.0,
    L2_is_weight_decay: bool = True,
    average_start: int = 2000,
) -> Optimizer:
    optimizer = TailAveragingAdam(
        learn_rate, L2=L2, beta1=beta1, beta2=beta2, eps=eps, grad_clip=grad_clip,
        use_averages=True, L2_is_weight_decay=L2_is_weight_decay,
    )
    optimizer.average_start = average_start
    return optimizer
