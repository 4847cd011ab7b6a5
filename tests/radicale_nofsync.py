"""``python -m radicale --config FILE``, minus fsync: for test servers only.

Radicale syncs every cache and history file it writes; building the sync history of a
2,000-event calendar then takes ~17 s instead of ~3 s. Its switch for that,
``[storage] _filesystem_fsync``, is internal (refused in a config file), so this
launcher sets it before handing over to Radicale's own command line.
"""

import radicale.config
from radicale.__main__ import run

_load = radicale.config.load


def _load_without_fsync(*args, **kwargs):
    configuration = _load(*args, **kwargs)
    configuration.update(
        {"storage": {"_filesystem_fsync": "False"}}, "tests: no fsync", privileged=True
    )
    return configuration


radicale.config.load = _load_without_fsync

if __name__ == "__main__":
    run()
