"""YARN: typed records, the ResourceManager client, the AM⇄RM and AM⇄NM clients."""
