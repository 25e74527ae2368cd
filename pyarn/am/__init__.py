"""``pyarn-am``: the pure-Python ApplicationMaster, the server side of the application protocol.

What the AM shares with its submitter and its clients (the launch contract,
the secret and token, the environment variables, the container records, the
key-value store's client API and the errors) is :mod:`pyarn.application`, a
layer below both the front door and this package. Here is what runs in the
AM's container. Modules:

* :mod:`.environment`: what the AM reads of its container's environment;
* :mod:`.security`: checking callers' application tokens;
* :mod:`.kvstore`: the key-value store itself;
* :mod:`.scheduler`: the services' containers as a state machine;
* :mod:`.recovery`: what a new attempt takes over, kept in a :mod:`.journal`
  in the staging directory (:mod:`.journalstore`: local disk or HDFS);
* :mod:`.launch`: the containers' launch contexts and environment;
* :mod:`.service`: the RPC handler of ``pyarn.proto`` (long polls on their own
  bounded set of handler threads);
* :mod:`.staging`: removing the staging directory;
* :mod:`.master`: ``ApplicationMaster``, which runs it all, and the master
  script's credentials.
"""
