//! `rawhttp save`: a page with its requisites, or a site, saved so it opens offline. Links are
//! found with field parsers (lol_html for HTML, cssparser for CSS), URLs map to safe local
//! paths by a pure function, files are fetched on fetch's batch engine and written atomically.
//! It never parses a response itself: `fetch` does the HTTP.

pub mod css;
pub mod html;
pub mod paths;
