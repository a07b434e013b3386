//! Request + file metadata -> status, headers and body plan: pure, table-tested (no I/O).
