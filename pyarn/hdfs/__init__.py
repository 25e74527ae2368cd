"""HDFS: the NameNode client, block transfer, and a file-system API."""
