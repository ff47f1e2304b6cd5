//! How bundle CSVs are written: LF line endings, no BOM, a fixed header, quoting only
//! where needed, and text cells that a spreadsheet would read as a formula neutralised
//! with a leading `'` (reversible: a reader drops one leading `'` from text columns).

use std::io::Write;

use pennytrail_log::canonical::format_int;

use crate::BundleFormat;
use crate::tables::{Column, Table};

/// Characters that make a spreadsheet treat a cell as a formula (or strip it).
const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// A text cell as the bundle writes it.
pub fn neutralise(text: &str) -> String {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The inverse of [`neutralise`], for readers of text columns.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// One cell of a row.
pub enum Cell<'a> {
    /// Free text (names, labels, purposes): neutralised.
    Text(&'a str),
    /// Ids, codes, hashes, times and JSON, which can never start a formula.
    Plain(&'a str),
    Int(i64),
    /// An optional text cell; empty when absent.
    Opt(Option<&'a str>),
}

fn writer<W: Write>(sink: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(sink)
}

/// A CSV file being written: the table's header, then rows of its shape.
pub struct CsvOut<W: Write> {
    writer: csv::Writer<W>,
    table: &'static Table,
    format: BundleFormat,
    pub rows: u64,
}

/// Whether `cell` may stand in `column`: an integer column takes integers (or nothing),
/// a text column anything but an integer.
fn fits(column: &Column, cell: &Cell<'_>) -> bool {
    match cell {
        Cell::Int(_) => column.integer,
        Cell::Plain("") | Cell::Opt(None) => true,
        Cell::Text(_) | Cell::Plain(_) | Cell::Opt(Some(_)) => !column.integer,
    }
}

impl<W: Write> CsvOut<W> {
    /// A file of the current format.
    pub fn new(sink: W, table: &'static Table) -> std::io::Result<CsvOut<W>> {
        CsvOut::of_format(sink, table, BundleFormat::CURRENT)
    }

    /// A file of `format`: rows are given with every column of the table, and the columns
    /// the format does not have are left out.
    pub fn of_format(
        sink: W,
        table: &'static Table,
        format: BundleFormat,
    ) -> std::io::Result<CsvOut<W>> {
        let mut writer = writer(sink);
        writer.write_record(table.columns_in(format).map(|c| c.name))?;
        Ok(CsvOut {
            writer,
            table,
            format,
            rows: 0,
        })
    }

    /// Writes one row.
    ///
    /// # Errors
    /// A row that is not of the table's shape (a mistake in the code that builds it, so
    /// no file drifts from its description), or a write that fails.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> std::io::Result<()> {
        let columns = self.table.columns;
        if cells.len() != columns.len() || !columns.iter().zip(cells).all(|(c, v)| fits(c, v)) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a row of {} does not have the table's {} columns of their types",
                    self.table.file,
                    columns.len()
                ),
            ));
        }
        // Field by field, without a String per cell: this runs for every row of every
        // file the verifier regenerates.
        let mut digits = [0u8; 20];
        for (column, cell) in columns.iter().zip(cells) {
            if column.since > self.format {
                continue;
            }
            match cell {
                Cell::Text(t) | Cell::Opt(Some(t)) if t.starts_with(FORMULA_STARTS) => {
                    self.writer.write_field(neutralise(t))?
                }
                Cell::Text(t) | Cell::Plain(t) | Cell::Opt(Some(t)) => {
                    self.writer.write_field(t)?
                }
                Cell::Opt(None) => self.writer.write_field("")?,
                Cell::Int(i) => self.writer.write_field(format_int(*i, &mut digits))?,
            }
        }
        self.writer.write_record(None::<&[u8]>)?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

impl CsvOut<Vec<u8>> {
    /// Takes what has been written so far, if it is at least `at_least` bytes (a
    /// streamed file's next chunk).
    pub fn take_written(&mut self, at_least: usize) -> std::io::Result<Vec<u8>> {
        self.writer.flush()?;
        let written = self.writer.get_ref().len();
        if written == 0 || written < at_least {
            return Ok(Vec::new());
        }
        let full = std::mem::replace(&mut self.writer, writer(Vec::new()));
        full.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralising_is_reversible() {
        for text in [
            "=SUM(A1)", "+1", "-2", "@x", "\tx", "'quoted", "plain", "", "''", "'=x",
        ] {
            assert_eq!(restore(&neutralise(text)), text, "{text:?}");
            assert!(!neutralise(text).starts_with(['=', '+', '-', '@', '\t', '\r']));
        }
    }

    #[test]
    fn rows_are_lf_terminated_and_quoted_only_when_needed() {
        static TABLE: Table = Table {
            file: "t.csv",
            about: "",
            columns: &[
                Column {
                    name: "a",
                    integer: false,
                    since: BundleFormat::V1,
                },
                Column {
                    name: "b",
                    integer: true,
                    since: BundleFormat::V1,
                },
                Column {
                    name: "c",
                    integer: true,
                    since: BundleFormat::V3,
                },
            ],
            primary_key: &[],
            foreign_keys: &[],
        };
        let mut out = CsvOut::of_format(Vec::new(), &TABLE, BundleFormat::V2).unwrap();
        out.row(&[Cell::Text("x,y"), Cell::Int(3), Cell::Int(9)])
            .unwrap();
        out.row(&[Cell::Plain("{\"k\":1}"), Cell::Opt(None), Cell::Plain("")])
            .unwrap();
        // Rows of another shape are refused.
        assert!(
            out.row(&[Cell::Int(1), Cell::Int(3), Cell::Int(3)])
                .is_err()
        );
        assert!(out.row(&[Cell::Plain("x"), Cell::Int(3)]).is_err());
        assert!(
            out.row(&[Cell::Plain("x"), Cell::Plain("7"), Cell::Int(3)])
                .is_err()
        );
        let bytes = out.finish().unwrap();
        // Format 2 has no column c.
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "a,b\n\"x,y\",3\n\"{\"\"k\"\":1}\",\n"
        );
        let mut out = CsvOut::new(Vec::new(), &TABLE).unwrap();
        out.row(&[Cell::Text("x"), Cell::Int(3), Cell::Int(9)])
            .unwrap();
        assert_eq!(out.finish().unwrap(), b"a,b,c\nx,3,9\n");
    }
}
