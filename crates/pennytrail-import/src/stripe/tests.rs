use super::*;

/// A report as Stripe writes it and as spreadsheets leave it: a BOM, CRLF, columns in
/// another order plus ones nobody asked for, a description with a comma and a line break
/// inside quotes, a blank line.
const REPORT: &str = "\u{feff}reporting_category,balance_transaction_id,created_utc,currency,gross,fee,net,description,customer_email,customer_id,extra\r\n\
charge,txn_1,2026-03-01 09:30:00,eur,25.00,0.68,24.32,\"Gift, from Ana\",ana@example.org,cus_1,x\r\n\
charge,txn_2,2026-03-01 10:00:00,eur,0.50,0.26,0.24,\"two\r\nlines\",,cus_2,\r\n\
\r\n\
refund,txn_3,2026-03-02 08:00:00,eur,-25.00,0.00,-25.00,,,,\r\n\
dispute,txn_4,2026-03-03 08:00:00,eur,-0.50,15.00,-15.50,,,,\r\n\
dispute_reversal,txn_5,2026-03-04 08:00:00,eur,0.50,-15.00,15.50,,,,\r\n\
fee,txn_6,2026-03-05 08:00:00,eur,-2.00,0.00,-2.00,Radar,,,\r\n\
payout,po_7,2026-03-06 08:00:00,eur,-10.00,0.00,-10.00,,,,\r\n\
charge,txn_8,2026-03-07 08:00:00,eur,3,0,3,,,,\r\n";

fn rows(text: &str) -> Vec<Row> {
    open(text.as_bytes(), "EUR").unwrap().collect()
}

fn entries(row: &Row) -> &[Planned] {
    match &row.1 {
        Ok(RowOutcome::Entries(e)) => e,
        other => panic!("line {}: {other:?}", row.0),
    }
}

#[test]
fn each_category_becomes_what_the_table_says_with_physical_lines() {
    let rows = rows(REPORT);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [2, 3, 6, 7, 8, 9, 10, 11]
    );
    let Planned::Donation(gift) = &entries(&rows[0])[0] else {
        panic!()
    };
    assert_eq!(gift.id, "stripe:txn_1");
    assert_eq!((gift.amount, gift.fee, gift.channel), (2500, 68, "stripe"));
    assert_eq!(gift.occurred_at, "2026-03-01T09:30:00.000Z");
    assert_eq!(gift.currency, "EUR");
    assert_eq!(gift.donor_ref.as_deref(), Some("ana@example.org"));
    let Planned::Donation(second) = &entries(&rows[1])[0] else {
        panic!()
    };
    assert_eq!(
        second.donor_ref.as_deref(),
        Some("cus_2"),
        "the customer id without an email"
    );
    let refund = entries(&rows[2]);
    assert_eq!(refund.len(), 1, "no fee, no second entry");
    assert!(
        matches!(&refund[0], Planned::Disbursement(d) if d.payee == Payee::Refunds && d.amount == 2500)
    );
    let dispute = entries(&rows[3]);
    assert!(
        matches!(&dispute[0], Planned::Disbursement(d) if d.payee == Payee::Refunds && d.amount == 50 && d.purpose == "dispute")
    );
    assert!(
        matches!(&dispute[1], Planned::Disbursement(d) if d.payee == Payee::Processor && d.amount == 1500 && d.id == "stripe:txn_4:fee")
    );
    let reversal = entries(&rows[4]);
    assert!(
        matches!(&reversal[0], Planned::Donation(d) if d.channel == "stripe-reversal" && d.amount == 50 && d.fee == 0)
    );
    assert!(
        matches!(&reversal[1], Planned::Donation(d) if d.channel == "processor-return" && d.amount == 1500 && d.id == "stripe:txn_5:fee" && d.donor_ref.is_none())
    );
    assert!(
        matches!(&entries(&rows[5])[0], Planned::Disbursement(d) if d.payee == Payee::Processor && d.amount == 200)
    );
    assert!(
        matches!(&rows[6].1, Ok(RowOutcome::Skipped { id, reason }) if id == "stripe:po_7" && reason.starts_with("payout"))
    );
    let Planned::Donation(whole) = &entries(&rows[7])[0] else {
        panic!()
    };
    assert_eq!(whole.amount, 300, "whole major units");
}

/// The totals the file states, computed here from its cells as text, equal what the
/// rows become: nothing lost, nothing rounded.
#[test]
fn totals_match_the_files_own() {
    let mut gross_in = 0;
    let mut gross_out = 0;
    for line in REPORT.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() < 7 || cells[0] == "payout" {
            continue;
        }
        let cents = |t: &str| -> i64 {
            let (w, f) = t
                .trim_start_matches('-')
                .split_once('.')
                .unwrap_or((t.trim_start_matches('-'), ""));
            let v = w.parse::<i64>().unwrap() * 100 + format!("{f:0<2}").parse::<i64>().unwrap();
            if t.starts_with('-') { -v } else { v }
        };
        let gross = cents(cells[4]);
        if gross > 0 {
            gross_in += gross
        } else {
            gross_out -= gross
        }
    }
    let (mut donated, mut paid) = (0, 0);
    for row in rows(REPORT) {
        if let Ok(RowOutcome::Entries(list)) = row.1 {
            for entry in list {
                match entry {
                    Planned::Donation(d) if d.channel != "processor-return" => donated += d.amount,
                    Planned::Disbursement(d) if !d.id.ends_with(":fee") => paid += d.amount,
                    _ => {}
                }
            }
        }
    }
    assert_eq!((donated, paid), (gross_in, gross_out));
}

#[test]
fn bad_rows_name_their_line_column_and_value() {
    let header = "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,customer_email,customer_id,description\n";
    let cases = [
        (
            "txn_1,2026-03-01 09:30:00,eur,10.005,0,10.005,charge,,,\n",
            "gross",
            "has 3 decimals; EUR has 2",
        ),
        (
            "txn_1,2026-03-01 09:30:00,gbp,10,0,10,charge,,,\n",
            "currency",
            "campaign's currency",
        ),
        (
            "txn_1,2026-03-01 09:30:00,eur,10,1,10,charge,,,\n",
            "net",
            "gross minus fee",
        ),
        (
            "txn_1,2026-02-30 09:30:00,eur,10,0,10,charge,,,\n",
            "created_utc",
            "YYYY-MM-DD",
        ),
        (
            "txn_1,2026-03-01 09:30:00,eur,10,0,10,issuing_authorization_hold,,,\n",
            "reporting_category",
            "not a category",
        ),
        (
            "txn_1,2026-03-01 09:30:00,eur,-10,0,-10,charge,,,\n",
            "gross",
            "not positive",
        ),
        (
            ",2026-03-01 09:30:00,eur,10,0,10,charge,,,\n",
            "balance_transaction_id",
            "is empty",
        ),
        (
            "txn_1,2026-03-01 09:30:00,eur,1,2,-1,charge,,,\n",
            "fee",
            "more than the gross",
        ),
    ];
    for (row, column, problem) in cases {
        let text = format!("{header}\n{row}");
        let read = rows(&text);
        assert_eq!(read.len(), 1, "{row}");
        let error = read[0].1.clone().expect_err(row);
        assert_eq!((error.line, error.column.as_str()), (3, column), "{row}");
        assert!(error.problem.contains(problem), "{row}: {error}");
    }
    // Not UTF-8: an error on its line, not a panic.
    let mut garbage = header.as_bytes().to_vec();
    garbage.extend_from_slice(b"txn_1,\xff\xfe\x00,eur,1,0,1,charge,,,\n");
    let read: Vec<Row> = open(&garbage[..], "EUR").unwrap().collect();
    assert!(
        read[0]
            .1
            .as_ref()
            .is_err_and(|e| e.line == 2 && e.problem.contains("UTF-8")),
        "{read:?}"
    );
}

#[test]
fn files_that_are_not_reports_are_refused_whole() {
    assert_eq!(open(&b""[..], "EUR").err(), Some(FileError::NoHeader));
    let Some(FileError::MissingColumns { missing, .. }) =
        open(&b"balance_transaction_id,gross\n"[..], "EUR").err()
    else {
        panic!()
    };
    assert!(
        missing.contains(&"reporting_category".to_string())
            && !missing.contains(&"gross".to_string())
    );
    assert_eq!(
        open(REPORT.as_bytes(), "XYZ").err(),
        Some(FileError::Currency("XYZ".into()))
    );
    let header_only = REPORT.lines().next().unwrap();
    assert_eq!(rows(header_only).len(), 0);
}

#[test]
fn ids_the_log_cannot_take_become_a_stable_hash() {
    assert_eq!(entry_id("txn_1A2b", "fee"), "stripe:txn_1A2b:fee");
    let odd = entry_id("txn/../1 ä", "");
    assert!(
        odd.starts_with("stripe:h") && odd.len() == "stripe:h".len() + 32,
        "{odd}"
    );
    assert_eq!(odd, entry_id("txn/../1 ä", ""));
    assert_ne!(odd, entry_id("txn/../2 ä", ""));
}
