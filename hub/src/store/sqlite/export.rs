//! Reading the database out table by table, for a copy into another backend: rows in pages by
//! `rowid` (every table here has one), so no table is ever held in memory whole, and the
//! highest number each AUTOINCREMENT table has issued, deleted rows included.

use rusqlite::types::Value;

use super::Sqlite;
use crate::store::StoreError;
use crate::store::copy::{Cell, Table};

impl Sqlite {
    /// The hub's tables in this database (SQLite's own left out).
    pub async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// How many rows `table` has.
    pub async fn count_rows(&self, table: &'static Table) -> Result<u64, StoreError> {
        self.call(move |c| {
            let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {}", table.name), [], |r| {
                r.get(0)
            })?;
            Ok(n.unsigned_abs())
        })
        .await
    }

    /// Up to `limit` rows of `table` after `rowid` `after`, in rowid order, each with its rowid
    /// and its values in the order of `table.columns`.
    pub async fn rows_after(
        &self,
        table: &'static Table,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Vec<Cell>)>, StoreError> {
        self.call(move |c| {
            let sql = format!(
                "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
                table.columns.join(", "),
                table.name
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params![after, limit], |r| {
                let cells = (0..table.columns.len())
                    .map(|i| r.get::<_, Value>(i + 1).map(cell))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((r.get(0)?, cells))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The highest number `table`'s AUTOINCREMENT key has issued (0 if none, or if the
    /// table has no AUTOINCREMENT key).
    pub async fn issued(&self, table: &'static Table) -> Result<i64, StoreError> {
        self.call(move |c| {
            let n: Option<i64> = c.query_row(
                "SELECT MAX(seq) FROM sqlite_sequence WHERE name = ?1",
                [table.name],
                |r| r.get(0),
            )?;
            Ok(n.unwrap_or(0))
        })
        .await
    }
}

fn cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Integer(n) => Cell::Int(n),
        // The hub never stores a REAL or a BLOB; as text, a hand-made one still copies into
        // a TEXT column and is refused by a BIGINT one.
        Value::Real(x) => Cell::Text(x.to_string()),
        Value::Text(s) => Cell::Text(s),
        Value::Blob(b) => Cell::Text(String::from_utf8_lossy(&b).into_owned()),
    }
}
