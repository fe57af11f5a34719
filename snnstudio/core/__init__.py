"""The Qt-free core: everything a headless experiment needs.

Nothing in this package may import PySide6, pyqtgraph or qasync (tests/core/test_layering.py).
"""

import logging

# spikingjelly probes for triton at import; on a CPU-only torch that is expected, not a warning.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)
