//! The books a charity already keeps, read into what pennytrail appends. A charity's
//! donations arrive as a payment processor's report, a mobile-money statement or a bank
//! statement; each parser here reads one such file and says, row by row, which donation
//! or disbursement it becomes, which rows it skips and why, and what is wrong with a bad
//! row (file line, column, value). Nothing here does I/O beyond reading the file it is
//! given: `pennytrail import` sends what the parsers plan through the public batch API.
//!
//! Money is exact: a file's decimal major units become integer minor units by the
//! currency's ISO 4217 exponent ([`decimal`]), and a value that does not fit is an error,
//! never a rounding. Personal data (emails, phone numbers, names, IBANs) is carried only
//! as the donor reference the service commits, and never printed ([`plan`]).

pub mod camt;
pub mod decimal;
mod lines;
pub mod mpesa;
pub mod plan;
pub mod stripe;
pub mod table;
