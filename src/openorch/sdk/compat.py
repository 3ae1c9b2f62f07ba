"""The `OpenOrchestrator` package's `OrchestratorConnection`: openorch's, plus two things
the original's did that scripts written for it rely on."""

import uuid

from openorch.sdk import connection, crypto_util, db_util


class OrchestratorConnection(connection.OrchestratorConnection):
    """openorch's `OrchestratorConnection` as the original's import path offers it:

    - `trigger_id` and `job_id` stay what was given (the strings from `sys.argv`), so
      `oc.job_id == sys.argv[6]`, `"x" + oc.job_id` and `json.dumps(oc.job_id)` work;
    - creating one makes it `db_util`'s default connection and sets `crypto_util`'s key,
      so a script may call `db_util` functions after creating its connection.
    """

    def __init__(
        self,
        process_name: str,
        connection_string: str,
        crypto_key: str | bytes,
        process_arguments: str | None,
        trigger_id: uuid.UUID | str | None = None,
        job_id: uuid.UUID | str | None = None,
    ) -> None:
        super().__init__(
            process_name, connection_string, crypto_key, process_arguments, trigger_id, job_id
        )
        self.trigger_id = trigger_id
        self.job_id = job_id
        crypto_util.set_key(crypto_key)
        db_util.use_store(self.store, connection_string)
