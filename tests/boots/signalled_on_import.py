"""A boot file whose import is interrupted by a signal (the number is in SMD_TEST_SIGNAL)."""

import os
import signal
import time

os.kill(os.getpid(), int(os.environ.get("SMD_TEST_SIGNAL", signal.SIGTERM)))
while True:  # the signal arrives here, long before a Boot exists
    time.sleep(1)
