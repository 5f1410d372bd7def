//! sealdrop in the browser.
