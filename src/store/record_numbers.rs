//! Record numbers: a sequence per direction and year, and every number in use (made or typed
//! by hand), so none is given twice. The writer runs one transaction at a time, so the next
//! number and its claim commit together or not at all: no gaps, no duplicates.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};
use crate::domain::record::{Direction, NumberFormat, number_key};

/// (direction, year; 0 for a format without {year}) → the last sequence number given.
const SEQUENCES: TableDefinition<(u8, i16), u64> = TableDefinition::new("record_sequences");
/// number (as `number_key` makes it) → the record holding it.
const NUMBERS: TableDefinition<&str, u128> = TableDefinition::new("record_numbers");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&SEQUENCES, &NUMBERS];

pub struct RecordNumbers<'s, S>(&'s S);

impl Rx {
    pub fn record_numbers(&self) -> RecordNumbers<'_, Self> {
        RecordNumbers(self)
    }
}

impl<'t> Tx<'t> {
    pub fn record_numbers(&self) -> RecordNumbers<'_, Self> {
        RecordNumbers(self)
    }
}

impl<S: Snapshot> RecordNumbers<'_, S> {
    /// The record holding `number`, if one does.
    pub fn holder(&self, number: &str) -> Result<Option<u128>, StoreError> {
        Ok(self
            .0
            .table(NUMBERS)?
            .get(number_key(number).as_str())?
            .map(|v| v.value()))
    }
}

impl RecordNumbers<'_, Tx<'_>> {
    /// Gives `record` the next number of `direction` in `year` under `format`, passing over
    /// numbers typed by hand that the sequence would have made.
    pub fn next(
        &self,
        direction: Direction,
        year: i16,
        format: &NumberFormat,
        record: u128,
    ) -> Result<String, StoreError> {
        let key = (direction.code(), if format.yearly() { year } else { 0 });
        let mut sequences = self.0.table(SEQUENCES)?;
        let mut seq = sequences.get(key)?.map_or(0, |v| v.value());
        loop {
            seq += 1;
            let number = format.number(year, seq);
            if self.claim(&number, record)? {
                sequences.insert(key, seq)?;
                return Ok(number);
            }
        }
    }

    /// Gives `number` to `record`; false when another record holds it.
    pub fn claim(&self, number: &str, record: u128) -> Result<bool, StoreError> {
        let mut numbers = self.0.table(NUMBERS)?;
        let key = number_key(number);
        if numbers.get(key.as_str())?.is_some() {
            return Ok(false);
        }
        numbers.insert(key.as_str(), record)?;
        Ok(true)
    }

    /// Frees `number` (its record is purged, or took another).
    pub fn release(&self, number: &str) -> Result<(), StoreError> {
        self.0.table(NUMBERS)?.remove(number_key(number).as_str())?;
        Ok(())
    }
}
