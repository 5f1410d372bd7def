//! Native sealdrop client library.
