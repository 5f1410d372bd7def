//! The sealdrop server.
