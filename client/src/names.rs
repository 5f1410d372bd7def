//! Turning sender-chosen file names (untrusted) into safe local names.

use std::collections::HashSet;
use std::path::Path;

/// Longest name kept, in bytes (most file systems allow 255; room is left for " (12)" and
/// the `.sealdrop-part` suffix).
const MAX_NAME_BYTES: usize = 180;

/// A safe single-component file name for `name` as the sender gave it: path separators and
/// control characters become `_`, leading dots and spaces and trailing dots and spaces go,
/// and an empty result (or `.`/`..`) becomes `file`. Overlong names are cut, keeping the
/// extension.
pub fn sanitize_file_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() || c == '\u{0}' {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Leading dots would make hidden files (and `..`); trailing dots and spaces confuse
    // Windows tools.
    let trimmed = replaced
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_owned();
    let mut name = if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed
    };
    if name.len() > MAX_NAME_BYTES {
        let (stem, ext) = split_extension(&name);
        let ext = if ext.len() <= 16 { ext } else { "" };
        let keep = MAX_NAME_BYTES - ext.len();
        let mut cut = keep.min(stem.len());
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}{}", &stem[..cut], ext);
    }
    name
}

/// `("report", ".pdf")`; `("archive.tar", ".gz")`; `("README", "")`.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    }
}

/// Picks a name in `dir` that no existing file and no name in `taken` has: `name`, else
/// `stem (1).ext`, `stem (2).ext`, ...
pub(crate) fn unique_name(dir: &Path, name: &str, taken: &HashSet<String>) -> String {
    let free = |candidate: &str| {
        !taken.contains(candidate) && std::fs::symlink_metadata(dir.join(candidate)).is_err()
    };
    if free(name) {
        return name.to_owned();
    }
    let (stem, ext) = split_extension(name);
    (1u32..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| free(candidate))
        .expect("some counter value is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_parent_components_cannot_escape_the_folder() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize_file_name("..\\..\\boot.ini"), "_.._boot.ini");
        assert_eq!(sanitize_file_name("/abs/path.txt"), "_abs_path.txt");
        assert_eq!(sanitize_file_name(".."), "file");
        assert_eq!(sanitize_file_name("."), "file");
        assert_eq!(sanitize_file_name(""), "file");
        assert_eq!(sanitize_file_name(".bashrc"), "bashrc");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(sanitize_file_name("a\nb\u{1b}[31m.txt"), "a_b_[31m.txt");
        assert_eq!(sanitize_file_name("nul\0.txt"), "nul_.txt");
    }

    #[test]
    fn ordinary_names_are_kept() {
        assert_eq!(
            sanitize_file_name("Quarterly report (final).pdf"),
            "Quarterly report (final).pdf"
        );
        assert_eq!(sanitize_file_name("résumé.docx"), "résumé.docx");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let safe = sanitize_file_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES);
        assert!(safe.ends_with(".pdf"));
    }

    #[test]
    fn collisions_get_a_counter() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), b"x").expect("write");
        let mut taken = HashSet::new();
        assert_eq!(unique_name(dir.path(), "a.txt", &taken), "a (1).txt");
        taken.insert("a (1).txt".to_owned());
        assert_eq!(unique_name(dir.path(), "a.txt", &taken), "a (2).txt");
        assert_eq!(unique_name(dir.path(), "b", &taken), "b");
    }
}
