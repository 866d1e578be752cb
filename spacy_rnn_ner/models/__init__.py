"""Thinc architectures and the PyTorch modules they wrap.

The builders in this package import torch lazily, inside the functions that
construct models, so that registering them never fails in an environment
without a working torch.
"""
