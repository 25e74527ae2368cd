"""The application protocol: what ``pyarn-am`` and its clients (the submitter, ``ApplicationClient``,
the containers) share.

This package sits below the front door (:mod:`pyarn.client`, :mod:`pyarn.submit`,
:mod:`pyarn.app_client`) and below the ApplicationMaster (:mod:`pyarn.am`), which
both import it; it imports only the layers beneath (errors, IPC, security, YARN
ids and records, ``pyarn.proto``).

Contract with the submitter (``Client.submit``), who builds the AM's launch context:

* **Spec**: the application spec, ``ApplicationSpec.to_json()``, staged as a
  LocalResource named ``.pyarn.spec.json`` (:data:`.environment.SPEC_FILE`) in
  the AM's working directory. Each service file's ``source`` is the URL of its
  staged copy, with ``size`` and ``timestamp`` (bytes, ms) of that copy filled
  in; the AM turns them into the services' LocalResources. (A ``file://``
  source left at 0/0 is looked up on the AM's local disk.)
* **Secret**: a random secret (:func:`.security.new_secret`) in the AM's
  credentials (``ContainerLaunchContext.tokens``) under the secret alias
  ``pyarn.app.secret``, and saved for the submitting user with
  :func:`.security.save_secret` (``~/.pyarn/apps/<app_id>/secret``, 0600).
  Clients authenticate with :func:`.security.app_token` of it (kind
  ``PYARN_APP_TOKEN``); the AM's IPC server accepts nothing else.
* **Environment**: ``PYARN_STAGING_DIR`` = the URL of the application's staging
  directory (deleted by the AM when the application ends; the AM keeps its
  journal in ``.pyarn.journal`` there, a name no staged file may take); the Hadoop
  configuration through ``HADOOP_CONF_DIR``/``YARN_CONF_DIR``, or ``pyarn-am
  --conf-dir DIR`` / ``-D key=value`` on its command line.
* **Command**: ``pyarn-am`` (or ``python -m pyarn.am``), e.g.
  ``python -m pyarn.am 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr``.
* **Attempts**: ``maxAppAttempts`` = the spec's ``max_attempts`` (YARN caps it
  at ``yarn.resourcemanager.am.max-attempts``), and
  ``keep_containers_across_application_attempts`` set, so that a new attempt
  of the AM adopts the running containers instead of replacing them
  (:mod:`pyarn.am.recovery`).

The AM registers ``NM_HOST`` and its RPC port with the ResourceManager
(``ApplicationReport.host``/``port``); ``ApplicationClient(f"{host}:{port}",
app_id, secret)`` talks to it over ``pyarn.proto``. What the AM gives its
containers and its master script is in :mod:`.environment`. Modules:

* :mod:`.security`: the secret, the token, where the submitter keeps the secret;
* :mod:`.environment`: the environment variables and file names of the contract;
* :mod:`.records`: ``Container`` and ``ContainerState``;
* :mod:`.errors`: the AM's errors as its clients see them;
* :mod:`.kv`: the key-value store as clients use it (``app.kv``), with
  :mod:`.kvops` (operations and conditions) and :mod:`.kvevents` (watching).
"""
