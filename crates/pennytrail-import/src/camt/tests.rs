use super::*;

/// A statement with: a credit with one transaction, a debit to a mapped supplier, a credit
/// of two transactions (a batch booking), a pending entry, and a booking with a time.
const STATEMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt><Stmt><Id>S1</Id>
<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry>
  <Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>2026-03-01</Dt></BookgDt><AcctSvcrRef>REF-1</AcctSvcrRef>
  <NtryDtls><TxDtls>
    <RltdPties><Dbtr><Pty><Nm>Ana Example &amp; Co</Nm></Pty></Dbtr>
      <DbtrAcct><Id><IBAN>de89 3704 0044 0532 0130 00</IBAN></Id></DbtrAcct></RltdPties>
    <RmtInf><Ustrd>Gift from Ana</Ustrd></RmtInf>
  </TxDtls></NtryDtls>
</Ntry>
<Ntry>
  <Amt Ccy="EUR">100.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><DtTm>2026-03-02T09:30:00Z</DtTm></BookgDt><AcctSvcrRef>REF-2</AcctSvcrRef>
  <NtryDtls><TxDtls>
    <RltdPties><CdtrAcct><Id><IBAN>GB82WEST12345698765432</IBAN></Id></CdtrAcct></RltdPties>
  </TxDtls></NtryDtls>
</Ntry>
<Ntry>
  <Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><Dt>2026-03-03</Dt></BookgDt><AcctSvcrRef>REF/3</AcctSvcrRef>
  <NtryDtls>
    <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">10.00</Amt></TxAmt></AmtDtls>
      <RltdPties><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties></TxDtls>
    <TxDtls><Amt Ccy="EUR">20.00</Amt></TxDtls>
  </NtryDtls>
</Ntry>
<Ntry>
  <Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
  <BookgDt><Dt>2026-03-04</Dt></BookgDt><AcctSvcrRef>REF-4</AcctSvcrRef>
</Ntry>
</Stmt></BkToCstmrStmt></Document>
"#;

fn map() -> BeneficiaryMap {
    BeneficiaryMap::from_csv(&b"iban,beneficiary\nGB82 WEST 1234 5698 7654 32,well-digger\n"[..])
        .unwrap()
}

fn rows(text: &str, map: &BeneficiaryMap) -> Vec<Row> {
    open(text.as_bytes(), "EUR", map).unwrap().collect()
}

#[test]
fn booked_entries_become_donations_and_mapped_payouts() {
    let map = map();
    let rows = rows(STATEMENT, &map);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [5, 14, 21, 30]
    );
    let Ok(RowOutcome::Entries(first)) = &rows[0].1 else {
        panic!("{:?}", rows[0])
    };
    let Planned::Donation(gift) = &first[0] else {
        panic!()
    };
    assert_eq!(
        (gift.id.as_str(), gift.amount, gift.channel),
        ("camt:REF-1", 2500, "bank-transfer")
    );
    assert_eq!(
        gift.donor_ref.as_deref(),
        Some("DE89370400440532013000"),
        "the debtor IBAN in capitals"
    );
    assert_eq!(gift.occurred_at, "2026-03-01T00:00:00.000Z");
    let Ok(RowOutcome::Entries(second)) = &rows[1].1 else {
        panic!("{:?}", rows[1])
    };
    let Planned::Disbursement(paid) = &second[0] else {
        panic!()
    };
    assert_eq!(paid.payee, Payee::Beneficiary("well-digger".into()));
    assert_eq!(
        (paid.amount, paid.occurred_at.as_str()),
        (10_000, "2026-03-02T09:30:00.000Z")
    );
    let Ok(RowOutcome::Entries(batch)) = &rows[2].1 else {
        panic!("{:?}", rows[2])
    };
    let ids: Vec<&str> = batch.iter().map(Planned::id).collect();
    assert!(
        ids[0].starts_with("camt:h") && ids[0].ends_with(":1") && ids[1].ends_with(":2"),
        "{ids:?}"
    );
    let Planned::Donation(part) = &batch[1] else {
        panic!()
    };
    assert_eq!((part.amount, part.donor_ref.as_deref()), (2000, None));
    assert!(
        matches!(&rows[3].1, Ok(RowOutcome::Skipped { id, reason }) if id == "camt:REF-4" && reason.contains("PDNG"))
    );
    let shown = format!("{rows:?}");
    assert!(!shown.contains("Ana") && !shown.contains("DE89"), "{shown}");
}

#[test]
fn hostile_or_broken_files_are_refused_with_their_place() {
    let map = map();
    let fails = |text: &str, problem: &str| {
        let read: Vec<Row> = open(text.as_bytes(), "EUR", &map).unwrap().collect();
        let last = read
            .last()
            .unwrap_or_else(|| panic!("nothing read from {text}"));
        let error = last.1.clone().expect_err(text);
        assert!(error.problem.contains(problem), "{error}");
        error
    };
    fails(
        "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"boom\">]><Document><Ntry>&x;</Ntry></Document>",
        "DTDs",
    );
    fails(
        "<Document><BkToCstmrStmt><Stmt><Ntry><Amt>&x;</Amt></Ntry>",
        "entity &x;",
    );
    let cut = &STATEMENT[..STATEMENT.find("<Ntry>\n  <Amt Ccy=\"EUR\">100").unwrap() + 30];
    let error = fails(cut, "cut short");
    assert!(error.line >= 14, "{error}");
    fails("\u{0}\u{1}binary\u{ff}", "camt.053");
    fails("", "empty");
    fails(
        "<html><body>not a statement</body></html>",
        "not a camt.053",
    );
    // An unmapped creditor names the entry and the IBAN's last four characters only.
    let unmapped = STATEMENT.replace("GB82WEST12345698765432", "NL91ABNA0417164300");
    let read = rows(&unmapped, &map);
    let error = read[1].1.clone().unwrap_err();
    assert_eq!(
        (error.line, error.column.as_str(), error.value.as_str()),
        (14, "Ntry 2/CdtrAcct", "…4300")
    );
    // An entry without the bank's reference, and one in another currency.
    let read = rows(
        &STATEMENT.replace("<AcctSvcrRef>REF-1</AcctSvcrRef>", ""),
        &map,
    );
    assert!(
        read[0]
            .1
            .as_ref()
            .is_err_and(|e| e.column == "Ntry 1/AcctSvcrRef")
    );
    let read = rows(
        &STATEMENT.replace("<Amt Ccy=\"EUR\">25.00", "<Amt Ccy=\"USD\">25.00"),
        &map,
    );
    assert!(
        read[0]
            .1
            .as_ref()
            .is_err_and(|e| e.column == "Ntry 1/Amt" && e.value == "USD")
    );
    let read = rows(
        &STATEMENT.replace("<Amt Ccy=\"EUR\">20.00", "<Amt Ccy=\"EUR\">20.01"),
        &map,
    );
    assert!(read[2].1.as_ref().is_err_and(|e| e.problem.contains("sum")));
}

#[test]
fn the_beneficiary_map_names_its_bad_lines() {
    let errors = BeneficiaryMap::from_csv(
        &b"iban,beneficiary\nNOT-AN-IBAN,x\nDE89370400440532013000,=cmd\n"[..],
    )
    .unwrap_err();
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect::<Vec<_>>(),
        [(2, "iban"), (3, "beneficiary")]
    );
    assert!(BeneficiaryMap::from_csv(&b"account,who\n"[..]).is_err());
}
