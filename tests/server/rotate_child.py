"""A child process that rotates the data key and SIGKILLs itself after N batches
(tests/server/test_data_key_rotation.py)."""

from __future__ import annotations

import base64
import os
import signal
import sys

from server.db.engine import make_engine
from server.ops.data_key import rotate_data_key


def main() -> None:
    url, old, new, kill_after, batch = sys.argv[1:6]
    engine = make_engine(url)
    seen = 0

    def after_batch(_table: str, _n: int) -> None:
        nonlocal seen
        seen += 1
        if seen == int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)

    rotate_data_key(engine, base64.b64decode(old), base64.b64decode(new), batch=int(batch),
                    after_batch=after_batch)
    print("finished")


if __name__ == "__main__":
    main()
