"""Hadoop's wire definitions as pyarn speaks them.

``proto/`` holds the project's own ``.proto`` sources; ``*_pb2.py`` and
``*_rpc.py`` are generated from them by ``python -m codegen`` and committed.
"""
