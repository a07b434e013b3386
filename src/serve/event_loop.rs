//! mio Poll per thread: accept until WouldBlock, drive connections, timers, shutdown.
