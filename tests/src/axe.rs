//! axe-core, the accessibility checker, run inside a page of a real [`Browser`]: the WCAG 2.1
//! A and AA rules, and only the findings axe rates serious or critical.
//!
//! `scripts/test` installs the pinned [`VERSION`] from npm into `<target>/axe`. Without it a
//! test prints SKIPPED and returns, except under `CI=true`, where it fails.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::binaries::{is_ci, target_dir};
use crate::browser::Browser;

/// The axe-core release `scripts/test` installs (a new pin reinstalls it).
pub const VERSION: &str = "4.14.1";

/// Where `scripts/test` puts axe-core's browser build.
pub fn script_path() -> PathBuf {
    target_dir().join("axe/node_modules/axe-core/axe.min.js")
}

/// axe-core's browser build, or `None` (with a SKIPPED line) when it is not installed and this
/// is not CI.
pub fn script() -> Option<String> {
    let path = script_path();
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) => {
            assert!(
                !is_ci(),
                "axe-core is missing ({}: {e}) but CI=true: these tests must run (scripts/test installs axe-core@{VERSION})",
                path.display()
            );
            eprintln!(
                "SKIPPED: axe-core is not installed at {} (scripts/test installs axe-core@{VERSION})",
                path.display()
            );
            None
        }
    }
}

/// One rule a page breaks, with the elements that break it.
#[derive(Debug, Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub nodes: Vec<Node>,
}

/// An element that breaks a rule: its CSS path and axe's account of what is wrong.
#[derive(Debug, Deserialize)]
pub struct Node {
    pub target: serde_json::Value,
    pub summary: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({}): {}", self.id, self.impact, self.help)?;
        for node in &self.nodes {
            let summary = node.summary.replace('\n', " ");
            writeln!(f, "    {} — {summary}", node.target)?;
        }
        Ok(())
    }
}

/// Runs axe on the whole page as it is now. The page must have `source` loaded by
/// [`check`]: axe lives in the page, so every navigation needs it again.
const RUN: &str = r"
const done = arguments[arguments.length - 1];
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
  .then((r) => done(r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary || '' })) }))))
  .catch((e) => done({ error: String(e) }));";

/// The serious and critical WCAG 2.1 AA findings on the page the browser shows, axe's
/// `source` loaded into it first (unless it is there already).
pub async fn check(browser: &Browser, source: &str) -> Vec<Violation> {
    let loaded = browser.eval("return typeof window.axe === 'object'").await;
    if loaded != serde_json::Value::Bool(true) {
        browser.load_script(source, "axe-core").await;
    }
    let found = browser.eval_async(RUN).await;
    serde_json::from_value(found.clone()).unwrap_or_else(|e| panic!("axe's answer {found}: {e}"))
}
