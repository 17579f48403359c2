"""One module per export format, each registering one format when imported.

:func:`theater.sources.exports.discover` imports every module here whose name does not start
with ``_`` (those hold code shared by several formats), so a new format is one new module.
"""
