//! Copying a stopped SQLite hub into an empty PostgreSQL database (`hub migrate-store`): every
//! table in [`TABLES`], in an order that puts each row after the rows it names, page by page,
//! all in one PostgreSQL transaction. A copy that fails leaves the target as it was, so it can
//! simply be run again; a target that holds hub data already is refused, never merged into.
//!
//! Ids and seqs are copied as they are, and each numbering continues after the highest number
//! SQLite ever issued (deleted rows included), so a hub started on the copy goes on with the
//! next seq and every stored reference (a relay's cursor, an `Idempotency-Key`) stays true.

use std::path::Path;

use super::StoreError;
use super::postgres::Import;
use super::sqlite::Sqlite;

/// One stored value, as the copy carries it between the two backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// A table the copy carries: its columns, named the same in both backends, and the column
/// whose numbering continues on the target, if any.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub numbered: Option<&'static str>,
}

/// Every table of the hub, each after the tables it references.
pub const TABLES: &[Table] = &[
    Table {
        name: "tracks",
        columns: &[
            "id",
            "soundcloud_id",
            "title",
            "artist",
            "permalink_url",
            "artwork_url",
            "duration_ms",
            "license",
        ],
        numbered: Some("id"),
    },
    Table {
        name: "shows",
        columns: &["id", "slug", "week_start", "week_end"],
        numbered: Some("id"),
    },
    Table {
        name: "show_tracks",
        columns: &[
            "show_id", "track_id", "source", "liked_at", "added_at", "sort_key", "removed",
        ],
        numbered: None,
    },
    Table {
        name: "show_marks",
        columns: &["show_id", "marked_at"],
        numbered: None,
    },
    Table {
        name: "announcements",
        columns: &[
            "seq",
            "announced_at",
            "message",
            "show_id",
            "position",
            "track",
            "corrects",
            "corrected_by",
            "show",
            "log_only",
        ],
        numbered: Some("seq"),
    },
    Table {
        name: "acks",
        columns: &["seq", "target", "acked_at", "relay"],
        numbered: None,
    },
    Table {
        name: "sessions",
        columns: &["id", "username", "created_at", "expires_at", "ended_at"],
        numbered: None,
    },
    Table {
        name: "meta",
        columns: &["key", "value"],
        numbered: None,
    },
    Table {
        name: "login_attempts",
        columns: &["id", "address", "at"],
        numbered: Some("id"),
    },
    Table {
        name: "deliveries",
        columns: &[
            "seq",
            "target",
            "status",
            "attempts",
            "last_error",
            "latency_ms",
            "due_at",
            "give_up_at",
            "updated_at",
            "stream_title",
            "verified",
        ],
        numbered: None,
    },
    Table {
        name: "delivery_cursors",
        columns: &["target", "seq"],
        numbered: None,
    },
    Table {
        name: "relay_cursors",
        columns: &["name", "seq", "updated_at", "acking"],
        numbered: None,
    },
    Table {
        name: "held_announcements",
        columns: &[
            "id",
            "held_at",
            "release_at",
            "state",
            "seq",
            "message",
            "show_id",
            "position",
            "track",
            "show",
        ],
        numbered: Some("id"),
    },
    Table {
        name: "idempotency_keys",
        columns: &["principal", "key", "body", "seq", "held_id", "created_at"],
        numbered: None,
    },
    Table {
        name: "show_events",
        columns: &["id", "show_id", "kind", "message", "at"],
        numbered: Some("id"),
    },
    Table {
        name: "event_deliveries",
        columns: &[
            "event_id",
            "target",
            "status",
            "attempts",
            "last_error",
            "latency_ms",
            "due_at",
            "give_up_at",
            "updated_at",
            "verified",
            "stream_title",
        ],
        numbered: None,
    },
];

/// Rows read and written at a time: small enough to hold, large enough that a page's round
/// trips dominate nothing.
const PAGE: u32 = 1_000;

/// How far the copy of one table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableProgress {
    pub table: &'static str,
    pub copied: u64,
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The target has hub data already; a copy never merges into it.
    #[error("the database at {url} already holds hub data (table {table} is not empty)")]
    NotEmpty { url: String, table: &'static str },
    #[error("{0} is not a PostgreSQL URL (postgres://user@host:port/database)")]
    NotPostgres(String),
    /// The SQLite database has a table the copy does not know: copying would lose it.
    #[error(
        "the SQLite database has a table the copy does not know, {0}: use the hub that wrote it"
    )]
    UnknownTable(String),
}

/// Copies the SQLite database of `data_dir` (brought up to this hub's schema first) into the
/// PostgreSQL database at `url`, with `extra_meta` (what the hub kept beside its database,
/// such as its generated secrets) added to `meta`, telling `progress` after each page.
/// Answers the tables' final counts.
pub async fn sqlite_to_postgres(
    data_dir: &Path,
    url: &str,
    extra_meta: &[(&str, String)],
    progress: &mut (dyn FnMut(TableProgress) + Send),
) -> Result<Vec<TableProgress>, CopyError> {
    if !super::postgres::is_url(url) {
        return Err(CopyError::NotPostgres(url.to_owned()));
    }
    let source = Sqlite::open(data_dir)?;
    if let Some(unknown) = source
        .table_names()
        .await?
        .into_iter()
        .find(|name| !TABLES.iter().any(|t| t.name == name))
    {
        return Err(CopyError::UnknownTable(unknown));
    }
    let target = Import::begin(url).await?;
    if let Some(table) = target.first_nonempty(TABLES).await? {
        return Err(CopyError::NotEmpty {
            url: target.place().to_owned(),
            table,
        });
    }
    let mut done = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        done.push(copy_table(&source, &target, table, progress).await?);
    }
    for (key, value) in extra_meta {
        target.put_meta(key, value).await?;
    }
    target.commit().await?;
    Ok(done)
}

/// Copies one table page by page and continues its numbering.
async fn copy_table(
    source: &Sqlite,
    target: &Import,
    table: &'static Table,
    progress: &mut (dyn FnMut(TableProgress) + Send),
) -> Result<TableProgress, CopyError> {
    let mut state = TableProgress {
        table: table.name,
        copied: 0,
        total: source.count_rows(table).await?,
    };
    progress(state);
    let mut after = i64::MIN;
    loop {
        let page = source.rows_after(table, after, PAGE).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        target
            .insert(table, page.iter().map(|(_, row)| row))
            .await?;
        state.copied += page.len() as u64;
        progress(state);
    }
    if let Some(column) = table.numbered {
        target
            .continue_numbering(table, column, source.issued(table).await?)
            .await?;
    }
    Ok(state)
}
