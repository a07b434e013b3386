//! Request target -> a path inside the root, or a refusal: a pure function, table-tested,
//! applied before any filesystem call (DESIGN rule 4).
