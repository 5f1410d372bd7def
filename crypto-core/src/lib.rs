//! sealdrop format v1 (see docs/FORMAT.md).
