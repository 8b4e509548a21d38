"""The one thing pyproject.toml cannot declare: keyscan's optional C accelerators."""

from setuptools import Extension, setup

# optional: without a C compiler (or zlib's headers) the install still succeeds; keyscan.edits
# then runs its pure-Python search for unchanged copies, hyperscan looks for base64 of text
# itself, the escape decoder finds its lively lines with regexes, and history audits read objects
# through `git cat-file` (same results, slower audits).
setup(
    ext_modules=[
        Extension("keyscan._segments", ["keyscan/_segments.c"], optional=True),
        Extension("keyscan._encoded", ["keyscan/_encoded.c"], optional=True),
        Extension("keyscan._escapes", ["keyscan/_escapes.c"], optional=True),
        Extension("keyscan._packs", ["keyscan/_packs.c"], libraries=["z"], optional=True),
    ]
)
