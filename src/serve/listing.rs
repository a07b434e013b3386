//! Directory listings as HTML (names escaped) or JSON.
