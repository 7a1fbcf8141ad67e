//! The receiving end of a copy from another backend (`crate::store::copy`): one transaction on
//! a connection of its own, outside the pool, so a copy that fails or is interrupted ends with
//! the connection and PostgreSQL rolls everything back.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use super::{Postgres, col, describe};
use crate::store::StoreError;
use crate::store::copy::{Cell, Table};

/// An open copy into one database.
pub struct Import {
    client: Client,
    place: String,
}

impl Import {
    /// Brings the database at `url` to this hub's schema, then opens the copy's transaction,
    /// with foreign keys checked at its commit (an announce names the later one that corrected
    /// it).
    pub async fn begin(url: &str) -> Result<Import, StoreError> {
        Postgres::connect(url).await?;
        let config: tokio_postgres::Config = url.parse()?;
        let place = describe(&config);
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            // Its error is the client's next one; nothing to add here.
            let _ = connection.await;
        });
        client
            .batch_execute("BEGIN; SET CONSTRAINTS ALL DEFERRED")
            .await?;
        Ok(Import { client, place })
    }

    /// Where the copy goes, without a password.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The first of `tables` that has a row, if any does.
    pub async fn first_nonempty(
        &self,
        tables: &'static [Table],
    ) -> Result<Option<&'static str>, StoreError> {
        for table in tables {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
            let row = self.client.query_one(&sql, &[]).await?;
            if col::<bool>(&row, 0)? {
                return Ok(Some(table.name));
            }
        }
        Ok(None)
    }

    /// Inserts `rows` (values in the order of `table.columns`), each converted to its
    /// column's type here.
    pub async fn insert<'a>(
        &self,
        table: &'static Table,
        rows: impl Iterator<Item = &'a Vec<Cell>>,
    ) -> Result<(), StoreError> {
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
            table.name,
            table.columns.join(", "),
            placeholders.join(", ")
        );
        let stmt = self.client.prepare(&sql).await?;
        for row in rows {
            let values = row
                .iter()
                .zip(stmt.params())
                .zip(table.columns)
                .map(|((cell, ty), column)| value(cell, ty, table.name, column))
                .collect::<Result<Vec<_>, _>>()?;
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            self.client.execute(&stmt, &params).await?;
        }
        Ok(())
    }

    /// Makes `table`'s identity `column` continue after `issued` or after its highest value,
    /// whichever is higher.
    pub async fn continue_numbering(
        &self,
        table: &'static Table,
        column: &str,
        issued: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), n)
             FROM (SELECT GREATEST($3, (SELECT MAX({column}) FROM {})) AS n) AS last
             WHERE n > 0",
            table.name
        );
        self.client
            .execute(&sql, &[&table.name, &column, &issued])
            .await?;
        Ok(())
    }

    /// Adds a key/value pair to `meta` (what the source kept outside its database).
    pub async fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.client
            .execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .await?;
        Ok(())
    }

    /// Commits the whole copy.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.client.batch_execute("COMMIT").await?;
        Ok(())
    }
}

/// `cell` as a value of the column type `ty`; a value that cannot be one is refused with the
/// table and column it came from.
fn value(
    cell: &Cell,
    ty: &Type,
    table: &str,
    column: &str,
) -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
    let refused = || {
        StoreError::OutOfRange(format!(
            "{table}.{column}: {cell:?} does not fit PostgreSQL's {ty}"
        ))
    };
    Ok(match (cell, ty) {
        (Cell::Null, &Type::INT8) => Box::new(None::<i64>),
        (Cell::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Cell::Null, &Type::TEXT) => Box::new(None::<String>),
        (Cell::Int(n), &Type::INT8) => Box::new(*n),
        (Cell::Int(n), &Type::BOOL) => Box::new(*n != 0),
        (Cell::Int(n), &Type::TEXT) => Box::new(n.to_string()),
        (Cell::Text(s), &Type::TEXT) => Box::new(s.clone()),
        (Cell::Text(s), &Type::INT8) => Box::new(s.parse::<i64>().map_err(|_| refused())?),
        _ => return Err(refused()),
    })
}
