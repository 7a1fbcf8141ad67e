//! Finding the programs the tests and the bench start: the workspace's own binaries (`hub`,
//! `irc-relay`) where cargo built them, and system programs (ngircd, chromium, chromedriver).

use std::path::{Path, PathBuf};

/// Why a workspace binary cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    #[error("cannot tell where this executable is: {0}")]
    OwnPath(#[from] std::io::Error),
    #[error(
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, with `--release` for the bench)",
        .0.display()
    )]
    Missing(PathBuf),
}

/// Where cargo put the workspace binary `name` for the running executable's profile: the
/// executable's own folder (the bench's `ntr-bench`), or the one above `deps/` (test binaries).
pub fn try_binary(name: &str) -> Result<PathBuf, BinaryError> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().unwrap_or(Path::new("/"));
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(BinaryError::Missing(path))
    }
}

/// The target directory the running test binary was built in (`target/` or
/// `$CARGO_TARGET_DIR`): where `scripts/test` keeps the Python virtualenvs the tests use.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// [`try_binary`] for tests, where a missing binary is a failure.
pub fn binary(name: &str) -> PathBuf {
    try_binary(name).unwrap_or_else(|e| panic!("{e}"))
}

/// The first of `names` found on `PATH` or in `extra_dirs`.
pub fn system_program(names: &[&str], extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Whether this is a CI run (`CI=true`), where nothing may be skipped.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The first of `names` (see [`system_program`]). When none is installed: `None` after a
/// SKIPPED line naming `package`, or a panic under `CI=true`, where every test must run
/// (`scripts/test` installs the packages).
pub fn require_program(names: &[&str], extra_dirs: &[&str], package: &str) -> Option<PathBuf> {
    let found = system_program(names, extra_dirs);
    if found.is_none() {
        assert!(
            !is_ci(),
            "{package} is not installed but CI=true: these tests must run (scripts/test installs it)"
        );
        eprintln!("SKIPPED: {package} is not installed (scripts/test installs it)");
    }
    found
}
