"""spaCy pipeline components. Modules here must not import torch at import time."""
