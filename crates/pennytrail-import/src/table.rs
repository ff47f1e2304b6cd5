//! A CSV file read by column name, one record at a time, each with its physical line:
//! what every CSV format shares (BOM, CRLF, quoted cells with commas and line breaks,
//! blank lines, columns in any order and extra ones ignored).

use std::collections::HashMap;
use std::io::Read;

use crate::lines::Lines;
use crate::plan::RowError;

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("the file has no header line")]
    NoHeader,
    #[error("the header lacks the column(s) {}; {format} has them", .missing.join(", "))]
    MissingColumns {
        missing: Vec<String>,
        format: &'static str,
    },
    #[error("the campaign's currency {0:?} is not an ISO 4217 currency with minor units")]
    Currency(String),
    #[error("the file is in {file}; the campaign takes {campaign}")]
    CurrencyMismatch {
        file: &'static str,
        campaign: String,
    },
}

/// The records of a CSV file, read one at a time.
pub struct Table<R: Read> {
    reader: csv::Reader<Lines<R>>,
    index: HashMap<&'static str, usize>,
    record: csv::StringRecord,
}

impl<R: Read> Table<R> {
    /// Reads the header of `input` and finds `columns` in it (`format` names the kind of
    /// file in the error that lists the missing ones).
    ///
    /// # Errors
    /// No header, or a missing column.
    pub fn open(
        input: R,
        columns: &[&'static str],
        format: &'static str,
    ) -> Result<Table<R>, FileError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(Lines::new(input));
        let header = reader.headers().map_err(|_| FileError::NoHeader)?.clone();
        if header.iter().all(|h| h.trim().is_empty()) {
            return Err(FileError::NoHeader);
        }
        let mut index = HashMap::new();
        let mut missing = Vec::new();
        for column in columns {
            match header.iter().position(|h| h.trim() == *column) {
                Some(i) => {
                    index.insert(*column, i);
                }
                None => missing.push((*column).to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(FileError::MissingColumns { missing, format });
        }
        Ok(Table {
            reader,
            index,
            record: csv::StringRecord::new(),
        })
    }

    /// The next record's line, or what keeps it from being read (not UTF-8, broken
    /// quoting); `None` at the end. Lines of empty cells are passed over.
    pub fn next_record(&mut self) -> Option<Result<u64, RowError>> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    if self.record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    let byte = self.record.position().map_or(0, csv::Position::byte);
                    return Some(Ok(self.reader.get_ref().line_at(byte)));
                }
                Err(e) => {
                    let byte = e.position().map_or(0, csv::Position::byte);
                    let line = self.reader.get_ref().line_at(byte);
                    let problem = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
                        _ => format!("cannot be read as CSV ({e})"),
                    };
                    return Some(Err(RowError {
                        line,
                        column: "(row)".into(),
                        value: String::new(),
                        problem,
                    }));
                }
            }
        }
    }

    /// The current record's cell in `column` (one given to [`Table::open`]), trimmed.
    pub fn cell(&self, column: &'static str) -> &str {
        self.index
            .get(column)
            .and_then(|i| self.record.get(*i))
            .unwrap_or("")
            .trim()
    }
}

/// The ISO 4217 code and exponent of a campaign's currency.
///
/// # Errors
/// A code that is not ISO 4217, or a currency without minor units.
pub fn currency(code: &str) -> Result<(&'static str, u16), FileError> {
    iso_currency::Currency::from_code(code)
        .and_then(|c| Some((c.code(), c.exponent()?)))
        .ok_or_else(|| FileError::Currency(code.to_string()))
}
