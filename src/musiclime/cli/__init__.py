"""The ``musiclime`` command line (:mod:`.app`): explain songs, build sample sheets, serve results.

The top layer: it fronts the workflow (Snakemake, as a subprocess) and the library, and nothing
imports it.
"""
