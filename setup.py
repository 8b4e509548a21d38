"""The one thing pyproject.toml cannot declare: keyscan's optional C accelerator."""

from setuptools import Extension, setup

# optional: without a C compiler the install still succeeds, and keyscan.edits runs its
# pure-Python search for unchanged copies instead (same results, slower history audits).
setup(ext_modules=[Extension("keyscan._segments", ["keyscan/_segments.c"], optional=True)])
