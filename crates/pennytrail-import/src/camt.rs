//! An ISO 20022 bank-to-customer statement (camt.053, version 001.02 and later). Each
//! booked entry (`Ntry`) becomes one entry, or one per transaction (`TxDtls`) when it has
//! several: a credit (`CRDT`) a donation whose donor reference is the debtor's IBAN, a
//! debit (`DBIT`) a disbursement to the beneficiary a map names for the creditor's IBAN.
//! Pending entries are skipped and listed. Ids are `camt:` and the entry's `AcctSvcrRef`
//! (plus `:k` for its k-th transaction). Names and remittance text are never read.
//!
//! The file is read as a stream, one entry at a time. A document type declaration (and
//! with it every entity declaration) is refused, and entities other than XML's five and
//! character references are never expanded.

use std::collections::HashMap;
use std::io::{BufReader, Read};

use pennytrail_ledger::donor::iban_normal;
use quick_xml::events::Event;

use crate::decimal::{NumberFormat, minor_units};
use crate::lines::Lines;
use crate::plan::{Disbursement, Donation, Payee, Planned, Row, RowError, RowOutcome, entry_id};
use crate::table::{FileError, Table, currency};

/// Which beneficiary each creditor account is: a CSV with the header `iban,beneficiary`.
#[derive(Debug, Default)]
pub struct BeneficiaryMap(HashMap<String, String>);

impl BeneficiaryMap {
    /// Reads the map.
    ///
    /// # Errors
    /// A missing column, or a row whose IBAN or beneficiary id is not one (its line named).
    pub fn from_csv<R: Read>(input: R) -> Result<BeneficiaryMap, Vec<RowError>> {
        let mut table =
            Table::open(input, &["iban", "beneficiary"], "a beneficiary map").map_err(|e| {
                vec![RowError {
                    line: 1,
                    column: "(header)".into(),
                    value: String::new(),
                    problem: e.to_string(),
                }]
            })?;
        let (mut map, mut errors) = (HashMap::new(), Vec::new());
        while let Some(record) = table.next_record() {
            let line = match record {
                Ok(line) => line,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let error = |column: &str, value: &str, problem: &str| RowError {
                line,
                column: column.into(),
                value: value.into(),
                problem: problem.into(),
            };
            let beneficiary = table.cell("beneficiary");
            let Some(iban) = iban_normal(table.cell("iban")) else {
                errors.push(error("iban", &last4(table.cell("iban")), "is not an IBAN"));
                continue;
            };
            if !is_id(beneficiary) {
                errors.push(error("beneficiary", beneficiary, "is not a beneficiary id"));
                continue;
            }
            map.insert(iban, beneficiary.to_string());
        }
        if errors.is_empty() {
            Ok(BeneficiaryMap(map))
        } else {
            Err(errors)
        }
    }
}

fn is_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(c))
}

/// An IBAN shown in a message: its last four characters only.
fn last4(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().filter(|c| !c.is_whitespace()).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

/// What one `Ntry` holds, as read.
#[derive(Default)]
struct Entry {
    line: u64,
    ordinal: u64,
    amount: String,
    currency: String,
    credit_debit: String,
    status: String,
    booked: String,
    reference: String,
    transactions: Vec<Transaction>,
}

#[derive(Default)]
struct Transaction {
    amount: String,
    currency: String,
    debtor_iban: String,
    creditor_iban: String,
}

/// The entries of a statement, read one at a time.
pub struct CamtEntries<'m, R: Read> {
    reader: quick_xml::Reader<BufReader<Lines<R>>>,
    buf: Vec<u8>,
    path: Vec<String>,
    text: String,
    entries: u64,
    currency: &'static str,
    exponent: u16,
    map: &'m BeneficiaryMap,
    failed: bool,
    seen_document: bool,
}

/// Opens a statement whose entries go to a campaign in `campaign_currency`, its debits
/// paid to the beneficiaries `map` names.
///
/// # Errors
/// A currency that is not ISO 4217.
pub fn open<'m, R: Read>(
    input: R,
    campaign_currency: &str,
    map: &'m BeneficiaryMap,
) -> Result<CamtEntries<'m, R>, FileError> {
    let (currency, exponent) = currency(campaign_currency)?;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(Lines::new(input)));
    reader.config_mut().trim_text(true);
    Ok(CamtEntries {
        reader,
        buf: Vec::new(),
        path: Vec::new(),
        text: String::new(),
        entries: 0,
        currency,
        exponent,
        map,
        failed: false,
        seen_document: false,
    })
}

impl<R: Read> Iterator for CamtEntries<'_, R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.failed {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some((entry.line, self.outcome(&entry))),
            Ok(None) => None,
            Err(problem) => {
                self.failed = true;
                let line = self.line_now();
                Some((
                    line,
                    Err(RowError {
                        line,
                        column: "(file)".into(),
                        value: String::new(),
                        problem,
                    }),
                ))
            }
        }
    }
}

impl<R: Read> CamtEntries<'_, R> {
    fn line_now(&self) -> u64 {
        self.reader
            .get_ref()
            .get_ref()
            .line_of(self.reader.buffer_position())
    }

    /// Reads events up to the end of the next `Ntry`; `None` at the end of the document.
    fn next_entry(&mut self) -> Result<Option<Entry>, String> {
        let mut entry: Option<Entry> = None;
        loop {
            self.buf.clear();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| format!("is not well-formed XML ({e})"))?;
            match event {
                Event::DocType(_) => {
                    return Err(
                        "declares a document type: DTDs and entity declarations are refused".into(),
                    );
                }
                Event::Start(start) => {
                    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                    if self.path.is_empty() {
                        if name != "Document" {
                            return Err(format!("starts with <{name}>, not a camt.053 <Document>"));
                        }
                        self.seen_document = true;
                    }
                    if name == "Ntry" {
                        self.entries += 1;
                        let position = self.reader.buffer_position();
                        let line = self.reader.get_ref().get_ref().line_of(position);
                        entry = Some(Entry {
                            line,
                            ordinal: self.entries,
                            ..Entry::default()
                        });
                    }
                    if name == "TxDtls"
                        && let Some(e) = entry.as_mut()
                    {
                        e.transactions.push(Transaction::default());
                    }
                    if name == "Amt"
                        && let Some(e) = entry.as_mut()
                    {
                        let ccy = start
                            .try_get_attribute("Ccy")
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                            .unwrap_or_default();
                        match self.path.last().map(String::as_str) {
                            Some("Ntry") => e.currency = ccy,
                            Some("TxDtls" | "TxAmt") => {
                                if let Some(t) = e.transactions.last_mut() {
                                    t.currency = ccy;
                                }
                            }
                            _ => {}
                        }
                    }
                    self.path.push(name);
                    self.text.clear();
                }
                Event::Text(text) => {
                    let text = text
                        .decode()
                        .map_err(|e| format!("is not UTF-8 text ({e})"))?;
                    self.text.push_str(&text);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => match reference.as_ref() {
                            b"amp" => '&',
                            b"lt" => '<',
                            b"gt" => '>',
                            b"quot" => '"',
                            b"apos" => '\'',
                            other => {
                                return Err(format!(
                                    "uses the entity &{}; which is not XML's own: entities are not expanded",
                                    String::from_utf8_lossy(other)
                                ));
                            }
                        },
                    };
                    self.text.push(resolved);
                }
                Event::End(_) => {
                    let path = self.path.join("/");
                    // An element with children has no text of its own (`<Sts><Cd>…`).
                    if let Some(e) = entry.as_mut()
                        && !self.text.trim().is_empty()
                    {
                        record(e, &path, self.text.trim());
                    }
                    self.text.clear();
                    let closed = self.path.pop();
                    if closed.as_deref() == Some("Ntry") {
                        return Ok(entry);
                    }
                }
                Event::Eof => {
                    return match self.path.last() {
                        Some(open) => Err(format!("ends inside <{open}>: the file is cut short")),
                        None if self.reader.buffer_position() == 0 => Err("is empty".into()),
                        None if !self.seen_document => Err("holds no camt.053 <Document>".into()),
                        None => Ok(None),
                    };
                }
                _ => {}
            }
        }
    }

    /// What an entry becomes.
    fn outcome(&self, entry: &Entry) -> Result<RowOutcome, RowError> {
        let place = format!("Ntry {}", entry.ordinal);
        let error = |element: &str, value: &str, problem: &str| RowError {
            line: entry.line,
            column: format!("{place}/{element}"),
            value: value.to_string(),
            problem: problem.to_string(),
        };
        if entry.reference.is_empty() {
            return Err(error(
                "AcctSvcrRef",
                "",
                "is missing: an entry needs the bank's reference to be imported once",
            ));
        }
        let base = entry_id("camt", &entry.reference, "");
        if entry.status != "BOOK" {
            return Ok(RowOutcome::Skipped {
                id: base,
                reason: format!(
                    "not booked ({})",
                    if entry.status.is_empty() {
                        "no status"
                    } else {
                        &entry.status
                    }
                ),
            });
        }
        let occurred_at = booked_at(&entry.booked).ok_or_else(|| {
            error(
                "BookgDt",
                &entry.booked,
                "is not a date (YYYY-MM-DD) or date and time",
            )
        })?;
        let amount = |text: &str, ccy: &str, element: &str| -> Result<i64, RowError> {
            if !ccy.eq_ignore_ascii_case(self.currency) {
                return Err(error(
                    element,
                    ccy,
                    &format!("is not the campaign's currency, {}", self.currency),
                ));
            }
            let units = minor_units(text, self.exponent, self.currency, NumberFormat::PLAIN)
                .map_err(|e| error(element, text, &e.to_string()))?;
            if units <= 0 {
                return Err(error(element, text, "is not positive"));
            }
            Ok(units)
        };
        let total = amount(&entry.amount, &entry.currency, "Amt")?;
        let credit = match entry.credit_debit.as_str() {
            "CRDT" => true,
            "DBIT" => false,
            other => return Err(error("CdtDbtInd", other, "is neither CRDT nor DBIT")),
        };
        let parts: Vec<(String, i64, &Transaction)> = match entry.transactions.as_slice() {
            [] => vec![(base, total, &NO_DETAILS)],
            [one] => vec![(base, total, one)],
            many => {
                let mut parts = Vec::with_capacity(many.len());
                for (k, t) in many.iter().enumerate() {
                    let element = format!("TxDtls {}/Amt", k + 1);
                    parts.push((
                        entry_id("camt", &entry.reference, &(k + 1).to_string()),
                        amount(&t.amount, &t.currency, &element)?,
                        t,
                    ));
                }
                let sum: i64 = parts.iter().map(|p| p.1).sum();
                if sum != total {
                    return Err(error(
                        "Amt",
                        &entry.amount,
                        "is not the sum of its transactions",
                    ));
                }
                parts
            }
        };
        let mut planned = Vec::with_capacity(parts.len());
        for (id, amount, t) in parts {
            planned.push(if credit {
                Planned::Donation(Donation {
                    id,
                    occurred_at: occurred_at.clone(),
                    currency: self.currency.to_string(),
                    amount,
                    fee: 0,
                    channel: "bank-transfer",
                    donor_ref: iban_normal(&t.debtor_iban),
                })
            } else {
                let iban = iban_normal(&t.creditor_iban).unwrap_or_default();
                let Some(beneficiary) = self.map.0.get(&iban) else {
                    return Err(error(
                        "CdtrAcct",
                        &last4(&t.creditor_iban),
                        "is an account the beneficiary map does not name",
                    ));
                };
                Planned::Disbursement(Disbursement {
                    id,
                    occurred_at: occurred_at.clone(),
                    currency: self.currency.to_string(),
                    payee: Payee::Beneficiary(beneficiary.clone()),
                    amount,
                    purpose: "bank transfer",
                })
            });
        }
        Ok(RowOutcome::Entries(planned))
    }
}

static NO_DETAILS: Transaction = Transaction {
    amount: String::new(),
    currency: String::new(),
    debtor_iban: String::new(),
    creditor_iban: String::new(),
};

/// Keeps the text of the elements an entry needs, by their path under `Ntry`.
fn record(entry: &mut Entry, path: &str, text: &str) {
    let Some((_, inside)) = path.split_once("/Ntry") else {
        return;
    };
    let tx = entry.transactions.last_mut();
    match inside {
        "/Amt" => entry.amount = text.to_string(),
        "/CdtDbtInd" => entry.credit_debit = text.to_string(),
        "/Sts" | "/Sts/Cd" => entry.status = text.to_string(),
        "/BookgDt/Dt" | "/BookgDt/DtTm" => entry.booked = text.to_string(),
        "/AcctSvcrRef" => entry.reference = text.to_string(),
        "/NtryDtls/TxDtls/Amt" | "/NtryDtls/TxDtls/AmtDtls/TxAmt/Amt" => {
            if let Some(t) = tx {
                t.amount = text.to_string();
            }
        }
        "/NtryDtls/TxDtls/RltdPties/DbtrAcct/Id/IBAN" => {
            if let Some(t) = tx {
                t.debtor_iban = text.to_string();
            }
        }
        "/NtryDtls/TxDtls/RltdPties/CdtrAcct/Id/IBAN" => {
            if let Some(t) = tx {
                t.creditor_iban = text.to_string();
            }
        }
        _ => {}
    }
}

/// A booking date (`2026-03-01`) or date and time in UTC (`2026-03-01T09:30:00Z`,
/// `…+00:00`, fractions of a second dropped) as an entry writes times.
fn booked_at(text: &str) -> Option<String> {
    if text.len() == 10 {
        return crate::plan::utc_time(&format!("{text} 00:00:00"));
    }
    let (date, time) = text.split_once('T')?;
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))?;
    let time = time.split('.').next()?;
    crate::plan::utc_time(&format!("{date} {time}"))
}

#[cfg(test)]
mod tests;
