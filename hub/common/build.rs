//! Finds the git commit the binaries are built from, for `--version`: `git rev-parse` in the
//! source tree, else the `NTR_GIT_COMMIT` variable (a build from an exported tarball), else
//! `unknown`.
//!
//! Cargo reruns this when HEAD moves: the files watched are the worktree's `HEAD` and the
//! branch it points at (loose or packed), found through git itself because a linked worktree's
//! `.git` is a file, not a folder.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=NTR_GIT_COMMIT");
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .or_else(|| std::env::var("NTR_GIT_COMMIT").ok())
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=NTR_GIT_COMMIT={}", commit.trim());
    for file in watched() {
        if file.exists() {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
}

/// Standard output of a git command run in this crate's folder, when git answers.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned())
}

/// `HEAD`, the branch it names and `packed-refs`: a commit changes one of them.
fn watched() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        files.push(PathBuf::from(git_dir).join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]) {
        let common = PathBuf::from(common);
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let loose = common.join(branch);
            // A fresh clone may keep the branch in packed-refs only; its first commit then
            // creates the loose file, which only its folder's listing shows.
            match loose.parent() {
                Some(folder) if !loose.exists() => files.push(folder.to_path_buf()),
                _ => files.push(loose),
            }
        }
        files.push(common.join("packed-refs"));
    }
    files
}
