"""pyarn's code generator.

``python -m codegen`` compiles the project's own ``.proto`` sources in
``hadoop_protos/proto`` into ``hadoop_protos/*_pb2.py`` (+ ``.pyi``) and writes
one table module per file that declares RPC services (``*_rpc.py``).
``python -m codegen --check`` fails when a committed file is stale, and
``python -m codegen verify REFDIR`` compares our definitions with Hadoop's.
"""
