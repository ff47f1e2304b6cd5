use super::*;

/// A statement as M-Pesa writes it: newest first, amounts with thousands separators,
/// withdrawals negative, a charge on its payment's receipt number, a failed payment, a
/// payer whose number the statement masks, and names beside every number.
const STATEMENT: &str = "Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,Reason Type,Other Party Info\r\n\
QK7,2026-03-02 08:00:00,2026-03-02 08:00:00,Pay to Wanjiku,Failed,,-500.00,,Business Payment to Customer via API,254700000003 - WANJIKU K\r\n\
QK6,2026-03-02 07:00:00,2026-03-02 07:00:00,B2C charge,Completed,,-15.27,\"9,984.73\",B2C Payment Charge,\r\n\
QK6,2026-03-02 07:00:00,2026-03-02 07:00:00,Payment to Achieng,Completed,,\"-1,000.00\",\"10,000.00\",Business Payment to Customer via API,0711 000 002 - ACHIENG O\r\n\
QK5,2026-03-01 02:00:00,2026-03-01 02:00:00,Funds received,Completed,\"11,000.00\",,\"11,000.00\",Customer Pay Bill Online,2547******001 - OTIENO\r\n\
QK4,2026-03-01 01:00:00,2026-03-01 01:00:00,Funds received,Completed,50.00,,,Customer Pay Bill Online,254711000001 - MUTUA J\r\n";

fn secret() -> PersonSecret {
    PersonSecret::from_file_bytes(b"a secret the charity keeps\n").unwrap()
}

fn rows(text: &str, secret: &PersonSecret) -> Vec<Row> {
    open(text.as_bytes(), "KES", secret).unwrap().collect()
}

fn only(row: &Row) -> &Planned {
    match &row.1 {
        Ok(RowOutcome::Entries(e)) if e.len() == 1 => &e[0],
        other => panic!("line {}: {other:?}", row.0),
    }
}

#[test]
fn each_row_becomes_a_donation_a_charge_or_a_payment_to_a_pseudonym() {
    let secret = secret();
    let rows = rows(STATEMENT, &secret);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6]
    );
    assert!(
        matches!(&rows[0].1, Ok(RowOutcome::Skipped { id, reason }) if id == "mpesa:QK7" && reason.contains("Failed"))
    );
    let Planned::Disbursement(charge) = only(&rows[1]) else {
        panic!()
    };
    assert_eq!(
        (charge.id.as_str(), charge.amount, &charge.payee),
        ("mpesa:QK6:charge", 1527, &Payee::Processor)
    );
    assert_eq!(
        charge.occurred_at, "2026-03-02T04:00:00.000Z",
        "East Africa Time is UTC+3"
    );
    let Planned::Disbursement(pay) = only(&rows[2]) else {
        panic!()
    };
    assert_eq!((pay.id.as_str(), pay.amount), ("mpesa:QK6", 100_000));
    let Payee::Person { id, label } = &pay.payee else {
        panic!()
    };
    assert_eq!(
        (id.clone(), label.clone()),
        secret.pseudonym("254711000002")
    );
    assert!(id.starts_with("person-") && label.starts_with("Person "));
    let Planned::Donation(big) = only(&rows[3]) else {
        panic!()
    };
    assert_eq!(
        (big.amount, big.currency.as_str(), big.channel),
        (1_100_000, "KES", "mpesa")
    );
    assert_eq!(big.donor_ref, None, "a masked number commits to no one");
    assert_eq!(
        big.occurred_at, "2026-02-28T23:00:00.000Z",
        "the day before, in UTC"
    );
    let Planned::Donation(small) = only(&rows[4]) else {
        panic!()
    };
    assert_eq!(small.donor_ref.as_deref(), Some("254711000001"));
    // Nothing personal in what the rows became: no name, no number but the committed one.
    let shown = format!("{rows:?}");
    for private in [
        "WANJIKU",
        "ACHIENG",
        "OTIENO",
        "MUTUA",
        "0711 000 002",
        "254711000002",
        "254711000001",
    ] {
        assert!(!shown.contains(private), "{private} in {shown}");
    }
}

#[test]
fn pseudonyms_are_stable_per_secret_and_unlinkable_without_it() {
    let (a, b) = (
        secret(),
        PersonSecret::from_file_bytes(b"another secret, also long").unwrap(),
    );
    assert_eq!(
        a.pseudonym("254711000002"),
        secret().pseudonym("254711000002")
    );
    assert_ne!(a.pseudonym("254711000002"), a.pseudonym("254711000003"));
    assert_ne!(a.pseudonym("254711000002"), b.pseudonym("254711000002"));
    assert!(PersonSecret::from_file_bytes(b"short\n").is_err());
    assert_eq!(format!("{a:?}"), "PersonSecret(withheld)");
}

#[test]
fn money_out_it_cannot_place_is_an_error_never_dropped() {
    let header = STATEMENT.lines().next().unwrap();
    let secret = secret();
    let cases = [
        (
            "QK1,2026-03-01 10:00:00,,x,Completed,,-300.00,,Organization Settlement to Bank,\n",
            "Reason Type",
            "not a row this import maps",
        ),
        (
            "QK1,2026-03-01 10:00:00,,x,Completed,,-300.00,,Business Payment to Customer via API,2547****0002 - X\n",
            "Other Party Info",
            "masked",
        ),
        (
            "QK1,2026-03-01 10:00:00,,x,Completed,\"1,00.00\",,,Customer Pay Bill Online,254711000001\n",
            "Paid In",
            "not a number",
        ),
        (
            "QK1,2026-03-01 10:00:00,,x,Completed,10.001,,,Customer Pay Bill Online,254711000001\n",
            "Paid In",
            "3 decimals",
        ),
        (
            "QK1,01/03/2026 10:00,,x,Completed,10.00,,,Customer Pay Bill Online,254711000001\n",
            "Completion Time",
            "YYYY-MM-DD",
        ),
        (
            ",2026-03-01 10:00:00,,x,Completed,10.00,,,Customer Pay Bill Online,254711000001\n",
            "Receipt No.",
            "is empty",
        ),
    ];
    for (row, column, problem) in cases {
        let text = format!("{header}\n{row}");
        let read = rows(&text, &secret);
        let error = read[0].1.clone().expect_err(row);
        assert_eq!((error.line, error.column.as_str()), (2, column), "{row}");
        assert!(error.problem.contains(problem), "{row}: {error}");
        assert!(!error.to_string().contains("2547"), "no number in {error}");
    }
    assert_eq!(
        open(STATEMENT.as_bytes(), "EUR", &secret).err(),
        Some(FileError::CurrencyMismatch {
            file: "KES",
            campaign: "EUR".into()
        })
    );
}
