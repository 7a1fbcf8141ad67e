//! What `hub --version` and `irc-relay --version` print: the workspace version and the git
//! commit the binaries were built from, so a bug report or an installed package names the exact
//! source. `build.rs` finds the commit.

/// `0.1.0 (commit 1a2b3c4d5e6f)`; the commit is `unknown` only for a build from a source tree
/// without git metadata and without `NTR_GIT_COMMIT` set.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("NTR_GIT_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_version_and_a_commit() {
        let (version, rest) = super::VERSION.split_once(" (commit ").expect("two parts");
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        let commit = rest.strip_suffix(')').expect("closing parenthesis");
        assert!(
            commit == "unknown"
                || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
            "{commit}"
        );
    }
}
