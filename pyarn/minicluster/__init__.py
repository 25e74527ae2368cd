"""A pure-Python YARN (and HDFS) on loopback, for trying pyarn and for tests."""
