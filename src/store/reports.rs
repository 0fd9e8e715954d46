//! Reports of members for the moderators (the open ones in a queue, oldest first), and the
//! warnings members see until they acknowledge them.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{ReportId, UserId};
use crate::domain::matching::{Report, ReportedMessage, Warning};

/// report id → `Report`.
const REPORTS: Rows<u128, Report> = Rows::new("reports");
/// report id → () while it waits for a moderator.
const OPEN: TableDefinition<u128, ()> = TableDefinition::new("reports_open");
/// (member, report id) → (): reports a member made or is the subject of.
const BY_MEMBER: TableDefinition<(u128, u128), ()> = TableDefinition::new("reports_by_member");
/// (member, report id) → `Warning`.
const WARNINGS: Rows<(u128, u128), Warning> = Rows::new("warnings");

/// report id → the messages it points at, as they were.
const MESSAGES: Rows<u128, Vec<ReportedMessage>> = Rows::new("report_messages");

pub(super) const TABLES: &[&dyn CatalogTable] =
    &[&REPORTS, &OPEN, &BY_MEMBER, &WARNINGS, &MESSAGES];

pub struct Reports<'s, S>(&'s S);

impl Rx {
    pub fn reports(&self) -> Reports<'_, Self> {
        Reports(self)
    }
}

impl<'t> Tx<'t> {
    pub fn reports(&self) -> Reports<'_, Self> {
        Reports(self)
    }
}

impl<S: Snapshot> Reports<'_, S> {
    pub fn get(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        REPORTS.get(self.0, id.as_u128())
    }

    /// Open reports, oldest first, and how many there are.
    pub fn open(&self, offset: usize, limit: usize) -> Result<(Vec<Report>, u64), StoreError> {
        let open = self.0.table(OPEN)?;
        let reports = REPORTS.open(self.0)?;
        let mut out = Vec::new();
        for entry in open.iter()?.skip(offset).take(limit) {
            out.extend(REPORTS.get_in(&reports, entry?.0.value())?);
        }
        Ok((out, open.len()?))
    }

    /// The messages a report points at (none for most).
    pub fn messages_of(&self, id: ReportId) -> Result<Vec<ReportedMessage>, StoreError> {
        Ok(MESSAGES.get(self.0, id.as_u128())?.unwrap_or_default())
    }

    /// Warnings a member has not acknowledged, oldest first.
    pub fn warnings_of(&self, member: UserId) -> Result<Vec<Warning>, StoreError> {
        let m = member.as_u128();
        let mut out = Vec::new();
        for entry in WARNINGS.open(self.0)?.range((m, 0)..=(m, u128::MAX))? {
            out.push(super::codec::decode(entry?.1.value())?);
        }
        Ok(out)
    }
}

impl Reports<'_, Tx<'_>> {
    pub fn put(&self, report: &Report) -> Result<(), StoreError> {
        let id = report.id.as_u128();
        let mut open = self.0.table(OPEN)?;
        if report.outcome.is_none() {
            open.insert(id, ())?;
        } else {
            open.remove(id)?;
        }
        let mut by_member = self.0.table(BY_MEMBER)?;
        by_member.insert((report.reporter.as_u128(), id), ())?;
        by_member.insert((report.reported.as_u128(), id), ())?;
        REPORTS.insert(self.0, id, report)
    }

    pub fn put_messages(
        &self,
        id: ReportId,
        messages: &Vec<ReportedMessage>,
    ) -> Result<(), StoreError> {
        MESSAGES.insert(self.0, id.as_u128(), messages)
    }

    pub fn warn(&self, member: UserId, warning: &Warning) -> Result<(), StoreError> {
        WARNINGS.insert(
            self.0,
            (member.as_u128(), warning.report.as_u128()),
            warning,
        )
    }

    /// Whether there was such a warning to acknowledge.
    pub fn acknowledge(&self, member: UserId, report: ReportId) -> Result<bool, StoreError> {
        Ok(WARNINGS
            .remove(self.0, (member.as_u128(), report.as_u128()))?
            .is_some())
    }

    /// Reports by or about a member, and their warnings (account deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        let m = member.as_u128();
        let ids: Vec<u128> = self
            .0
            .table(BY_MEMBER)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for id in ids {
            if let Some(report) = REPORTS.remove(self.0, id)? {
                let mut by_member = self.0.table(BY_MEMBER)?;
                by_member.remove((report.reporter.as_u128(), id))?;
                by_member.remove((report.reported.as_u128(), id))?;
                self.0.table(OPEN)?.remove(id)?;
                WARNINGS.remove(self.0, (report.reported.as_u128(), id))?;
                MESSAGES.remove(self.0, id)?;
            }
        }
        Ok(())
    }
}
