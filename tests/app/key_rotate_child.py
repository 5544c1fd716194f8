"""A child process that rotates the till's customer-data key and SIGKILLs itself after
N batches (tests/app/test_key_rotation.py). Usage: DATA_DIR KILL_AFTER BATCH."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import keyring
from keyring.backends import fail

from app.store.key_rotation import rotate_key
from app.store.local import open_store


def main() -> None:
    data_dir, kill_after, batch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    keyring.set_keyring(fail.Keyring())  # the key lives in data-key.enc (passphrase env)
    store = open_store(data_dir, rotating=True)
    seen = 0

    def after_batch(_n: int) -> None:
        nonlocal seen
        seen += 1
        if seen == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    rotate_key(store, batch=batch, after_batch=after_batch)
    store.close()
    print("finished")


if __name__ == "__main__":
    main()
