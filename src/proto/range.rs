//! Range request parsing and satisfiability (RFC 9110 §14): bytes in, byte spans out.
