"""The compiled fast path (shmring/_fastpath.c), optional: without a C
compiler or Python headers the package installs and works through ctypes
alone. Everything else is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("shmring._fastpath", ["shmring/_fastpath.c"], optional=True)])
