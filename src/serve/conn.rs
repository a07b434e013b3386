//! One connection's state machine: reading head -> sending head -> sending body -> (keep-alive).
