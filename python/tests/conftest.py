"""Shared fixtures: unique ring names, the Swift and C peers' binaries."""
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))


@pytest.fixture
def name(request):
    """A ring name unique to this test and process; removed afterwards if left."""
    n = f"pytest-{request.node.name[:40]}-{os.getpid()}".replace("[", "-").replace("]", "")
    yield n
    for leftover in (Path("/dev/shm") / n, Path("/dev/shm") / (n + ".sysv-key")):
        if leftover.exists():
            import shmring
            backing = "sysv" if leftover.name.endswith(".sysv-key") else "mmap"
            shmring._lib.lib.shmring_remove(shmring.rings.BACKINGS[backing], n.encode(), None)


@pytest.fixture(scope="session")
def ringbench():
    path = Path(os.environ.get("RINGBENCH", REPO / ".build" / "debug" / "ringbench"))
    if not path.exists():
        pytest.skip(f"{path} not built (swift build)")
    return str(path)


@pytest.fixture(scope="session")
def c_examples():
    d = REPO / ".build-cabi" / "release"
    if not (d / "example-producer").exists():
        pytest.skip("C examples not built (make examples)")
    return d
