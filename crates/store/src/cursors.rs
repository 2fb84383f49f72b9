//! Pull-connector progress marks: a cache that spares a restarting connector a scan of the
//! whole ledger. The ledger stays the record of progress (each connector entry carries its
//! cursor); a [`ConnectorMark`] only says where in the ledger the connector's newest entry
//! was and how far the ledger had been checked, so recovery scans the tail after
//! `checked_to` and trusts nothing it cannot re-read from the ledger.

use rusqlite::{OptionalExtension, params};

use crate::{StateDb, StoreError};

/// Where a connector's entries are in the ledger, as of `checked_to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectorMark {
    /// Index of the connector's newest entry below `checked_to`; `None` if it had none.
    pub last_index: Option<u64>,
    /// Ledger size up to which that was true (entries at or above it are unchecked).
    pub checked_to: u64,
}

impl StateDb {
    /// The mark saved for `connector`, if any.
    pub fn connector_mark(&self, connector: &str) -> Result<Option<ConnectorMark>, StoreError> {
        let row: Option<(Option<i64>, i64)> = self
            .conn()
            .query_row(
                "SELECT last_index, checked_to FROM connector_marks WHERE connector = ?1",
                [connector],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(last, checked)| ConnectorMark {
            last_index: last.map(|i| i as u64),
            checked_to: checked as u64,
        }))
    }

    /// Saves `mark` for `connector`, replacing the previous one.
    pub fn set_connector_mark(
        &self,
        connector: &str,
        mark: &ConnectorMark,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO connector_marks (connector, last_index, checked_to) VALUES (?1, ?2, ?3)
             ON CONFLICT(connector) DO UPDATE SET last_index = ?2, checked_to = ?3",
            params![
                connector,
                mark.last_index.map(|i| i as i64),
                mark.checked_to as i64
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_per_connector_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let db = StateDb::open(&path).unwrap();
        assert_eq!(db.connector_mark("okta-api").unwrap(), None);
        let first = ConnectorMark {
            last_index: None,
            checked_to: 10,
        };
        db.set_connector_mark("okta-api", &first).unwrap();
        let second = ConnectorMark {
            last_index: Some(41),
            checked_to: 42,
        };
        db.set_connector_mark("github-api", &second).unwrap();
        drop(db);
        let db = StateDb::open(&path).unwrap();
        assert_eq!(db.connector_mark("okta-api").unwrap(), Some(first));
        assert_eq!(db.connector_mark("github-api").unwrap(), Some(second));
        db.set_connector_mark("okta-api", &second).unwrap();
        assert_eq!(db.connector_mark("okta-api").unwrap(), Some(second));
    }
}
