"""``pyarn-am``: the pure-Python ApplicationMaster."""
