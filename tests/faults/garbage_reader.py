"""A reader process that talks garbage (`python -m tests.faults.garbage_reader FD`): one framed
message that is no pickle, then it hangs on; the parent must end it and say so."""

from __future__ import annotations

import os
import sys
import time

if __name__ == "__main__":
    fd = int(sys.argv[-1])
    garbage = b"\x80\x05not a pickle"
    os.write(fd, len(garbage).to_bytes(4, "big") + garbage)
    time.sleep(60)
