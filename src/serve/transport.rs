//! The bytes between socket and parser: plain TCP or a rustls ServerConnection pumped by hand.
