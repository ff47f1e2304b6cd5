//! `/lookup`: find a donation and see where it went. `GET /lookup?org=&donation=` shows
//! the trace (readable without JavaScript), and `lookup.js` has the visitor's browser
//! verify every step's receipt against the key the visitor pinned. `POST /lookup` finds
//! donations by the donor's own reference: it travels only in the form body, is never
//! put in a URL, logged, stored or shown back, and is rate-limited like the API's lookup.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::campaign::beneficiary_label;
use super::html::Html;
use super::qr;
use super::{PageError, PageQuery, amount, layout};
use crate::app::AppState;
use crate::input::{ClientAddr, Id};
use crate::read::MAX_TRACE_PAGE;
use crate::read::donations::Trace;
use crate::read::donations::{donation_view, donations_of_donor, find_donation, trace};

/// The two lookup forms: by donation id (GET) and by donor reference (POST).
fn forms(org: &str, donation: &str) -> Html {
    let mut html = Html::new();
    html.raw("<div class=\"forms\">\n<form class=\"lookup\" method=\"get\" action=\"/lookup\">\n")
        .raw("<h2>By donation id</h2>\n<label for=\"org\">Charity id</label>")
        .raw("<input id=\"org\" name=\"org\" required autocomplete=\"off\" value=\"")
        .text(org)
        .raw("\">\n<label for=\"donation\">Donation id</label>")
        .raw("<input id=\"donation\" name=\"donation\" required autocomplete=\"off\" value=\"")
        .text(donation)
        .raw("\">\n<button type=\"submit\">Show where it went</button>\n</form>\n")
        .raw("<form class=\"lookup\" method=\"post\" action=\"/lookup\">\n")
        .raw("<h2>By your donor reference</h2>\n<label for=\"ref-org\">Charity id</label>")
        .raw("<input id=\"ref-org\" name=\"org\" required autocomplete=\"off\" value=\"")
        .text(org)
        .raw("\">\n<label for=\"donor_ref\">Your reference (e.g. the e-mail address you gave)</label>")
        .raw("<input id=\"donor_ref\" name=\"donor_ref\" type=\"password\" required autocomplete=\"off\">\n")
        .raw("<button type=\"submit\">Find my donations</button>\n")
        .raw("<p class=\"muted\"><small>Sent in the request body only: the log stores a keyed \
              hash of it per charity, never the reference itself.</small></p>\n</form>\n</div>\n");
    html
}

pub async fn lookup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: PageQuery,
) -> Result<Response, PageError> {
    query.only(&["org", "donation", "after"])?;
    let org = query.id("org")?.map(Id::into_string);
    let donation = query.id("donation")?.map(Id::into_string);
    let after = query.u64("after")?.map(|a| a as i64);
    let (org, donation) = match (org, donation) {
        (None, None) => {
            let mut main = Html::new();
            main.raw(
                "<h1>Find a donation</h1>\n<p class=\"lead\">See where a donation went, \
                      step by step, each step with a receipt your browser checks.</p>\n",
            )
            .append(forms("", ""));
            return Ok(layout::page("Find a donation", main, &[]));
        }
        (Some(_), None) => {
            return Err(PageError::bad_field(
                "donation",
                "give the donation id as well",
            ));
        }
        (None, Some(_)) => {
            return Err(PageError::bad_field(
                "org",
                "give the charity id as well: donation ids are per charity",
            ));
        }
        (Some(org), Some(donation)) => (org, donation),
    };
    let trace = trace(
        &state.store,
        org.clone(),
        &donation,
        after,
        MAX_TRACE_PAGE,
        state.witness_policy.as_deref(),
    )
    .await?;
    let record = donation_view(
        &state.store,
        find_donation(&state.store, &org, &donation).await?,
    )
    .await?;
    let mut labels = BTreeMap::new();
    for flow in &trace.flows {
        if !labels.contains_key(&flow.beneficiary) {
            let label = beneficiary_label(&state, &org, &flow.beneficiary).await?;
            labels.insert(flow.beneficiary.clone(), label);
        }
    }
    let money = |minor: i64| amount(&trace.currency, minor);

    let mut main = Html::new();
    main.raw("<p class=\"crumbs\"><a href=\"/\">Log</a> › <a href=\"/orgs/")
        .segment(&org)
        .raw("\">")
        .text(&org)
        .raw("</a> › <a href=\"/orgs/")
        .segment(&org)
        .raw("/campaigns/")
        .segment(&trace.campaign)
        .raw("\">")
        .text(&trace.campaign)
        .raw("</a> › donation</p>\n")
        .raw("<h1>Donation <code>")
        .text(&trace.donation)
        .raw("</code></h1>\n<dl class=\"facts\"><dt>Given</dt><dd>")
        .text(&money(record.amount))
        .raw(" by ")
        .text(&record.channel)
        .raw(", of which ")
        .text(&money(record.fee))
        .raw(" went to payment fees</dd><dt>Recorded</dt><dd>")
        .text(&record.received_at)
        .raw(" (entry ")
        .display(trace.seq)
        .raw(")</dd><dt>Paid out so far</dt><dd id=\"funded\">")
        .text(&money(trace.funded))
        .raw("</dd><dt>Still held</dt><dd id=\"held\">")
        .text(&money(trace.held))
        .raw("</dd></dl>\n")
        .append(keep_section(&headers, &org, &trace.donation));

    // The verification panel: lookup.js reads these data attributes, fetches the trace
    // from the API itself and verifies what it fetched, not this page's text.
    main.raw("<section id=\"verification\" aria-labelledby=\"verify-head\" data-org=\"")
        .text(&org)
        .raw("\" data-donation=\"")
        .text(&trace.donation)
        .raw("\"");
    if let Some(after) = after {
        main.raw(" data-after=\"").display(after).raw("\"");
    }
    main.raw(" data-state=\"idle\">\n<h2 id=\"verify-head\">Checked by your browser</h2>\n")
        .raw("<noscript><p class=\"warn\">Your browser checks each receipt below with \
              JavaScript, which is off: nothing on this page is verified. You can check the \
              donation's receipt yourself: download it above, then run <code>pennytrail-verify \
              receipt FILE --key KEY</code>.</p></noscript>\n")
        .raw("<div id=\"key-status\" role=\"status\" aria-live=\"polite\"></div>\n")
        .raw("<p id=\"witnessed\">")
        .text(&witnessed_by(state.witness_policy.as_deref(), &trace))
        .raw("</p>\n<div id=\"witness-status\" role=\"status\" aria-live=\"polite\"></div>\n")
        .raw("<details id=\"pin\" class=\"pin\" hidden>\n<summary>The log key you trust</summary>\n\
              <label for=\"pinned-key\">Paste the log key from the charity's own website or a \
              signed report</label>\n")
        .raw("<textarea id=\"pinned-key\" rows=\"2\" spellcheck=\"false\" autocomplete=\"off\"></textarea>\n")
        .raw("<label for=\"pinned-policy\">Optionally, the witness policy you trust (a tlog-policy \
              file: the log, its witnesses and how many must cosign), from the same kind of \
              source; a policy this server hands out protects against nothing it does</label>\n\
              <textarea id=\"pinned-policy\" rows=\"5\" spellcheck=\"false\" autocomplete=\"off\"></textarea>\n")
        .raw("<div class=\"buttons\"><button type=\"button\" id=\"pin-save\">Pin</button>\
              <button type=\"button\" id=\"pin-forget\">Forget what is pinned</button></div>\n</details>\n")
        .raw("<p id=\"verify-summary\" role=\"status\" aria-live=\"polite\"></p>\n")
        .raw("<div id=\"log-status\" role=\"status\" aria-live=\"polite\"></div>\n</section>\n");

    main.raw("<section aria-labelledby=\"trace-head\"><h2 id=\"trace-head\">Where it went</h2>\n")
        .raw("<p>Under the log's rule, donations fill the campaign's money line in order and \
              payouts drain it in order; this donation funded exactly the part of each payout \
              that overlaps it.</p>\n")
        .raw("<div class=\"scroll\"><table id=\"trace\" class=\"stack\"><thead><tr><th scope=\"col\">Step</th>\
              <th scope=\"col\" class=\"num\">Amount</th><th scope=\"col\">Receipt</th>\
              <th scope=\"col\">Check</th></tr></thead><tbody>\n")
        .raw("<tr data-seq=\"")
        .display(trace.seq)
        .raw("\"><th scope=\"row\">Received by <strong>")
        .text(&org)
        .raw("</strong> for campaign ")
        .text(&trace.campaign)
        .raw(", net of fees</th><td class=\"num\" data-label=\"Amount\">")
        .text(&money(trace.net))
        .raw("</td><td data-label=\"Receipt\">")
        .append(receipt_links(trace.seq))
        .raw("</td><td class=\"step-status\" data-label=\"Check\" data-seq=\"")
        .display(trace.seq)
        .raw("\">not checked</td></tr>\n");
    for flow in &trace.flows {
        main.raw("<tr data-seq=\"")
            .display(flow.seq)
            .raw("\"><th scope=\"row\">Paid to <strong>")
            .text(labels.get(&flow.beneficiary).unwrap_or(&flow.beneficiary))
            .raw("</strong> <small class=\"muted\">")
            .text(&flow.beneficiary_kind)
            .raw("</small> in payout <code>")
            .text(&flow.disbursement)
            .raw("</code></th><td class=\"num\" data-label=\"Amount\">")
            .text(&money(flow.amount))
            .raw("</td><td data-label=\"Receipt\">")
            .append(receipt_links(flow.seq))
            .raw("</td><td class=\"step-status\" data-label=\"Check\" data-seq=\"")
            .display(flow.seq)
            .raw("\">not checked</td></tr>\n");
    }
    main.raw("</tbody></table></div>\n");
    if let Some(next) = trace.next {
        main.raw("<p><a href=\"/lookup?org=")
            .segment(&org)
            .raw("&amp;donation=")
            .segment(&trace.donation)
            .raw("&amp;after=")
            .display(next)
            .raw("\">Next payouts funded by this donation</a></p>\n");
    }
    main.raw("</section>\n");
    Ok(layout::page(
        &format!("Donation {}", trace.donation),
        main,
        &["lookup.js"],
    ))
}

/// "Keep it": the donation's one-file receipt, how to check it, and a QR code of this
/// page's own link (the org and donation ids only, never a donor reference).
fn keep_section(headers: &HeaderMap, org: &str, donation: &str) -> Html {
    let mut html = Html::new();
    html.raw(
        "<section class=\"keep\" aria-labelledby=\"keep-head\"><h2 id=\"keep-head\">Keep it</h2>\n",
    )
    .raw("<p><a class=\"button\" id=\"receipt-download\" download href=\"/v1/orgs/")
    .segment(org)
    .raw("/donations/")
    .segment(donation)
    .raw(
        "/receipt\">Download receipt</a></p>\n<p><small>The receipt is one file that proves \
              this donation is in the log, whatever happens to this site. Anyone can check it \
              offline: <code>pennytrail-verify receipt FILE --key KEY</code>, with the log \
              key from the charity's own website.</small></p>\n",
    );
    let path = format!(
        "/lookup?org={}&donation={}",
        super::html::percent_encode(org),
        super::html::percent_encode(donation)
    );
    if let Some(base) = qr::public_base(headers)
        && let Some(code) = qr::qr_svg(&format!("{base}{path}"), "QR code of this page's link")
    {
        html.raw("<figure class=\"qr-link\">")
            .append(code)
            .raw("<figcaption>Scan to open this page on another phone: <code>")
            .text(&format!("{base}{path}"))
            .raw("</code></figcaption></figure>\n");
    }
    html.raw("</section>\n");
    html
}

/// Links to an entry's exact bytes and its receipt, for checking offline.
fn receipt_links(seq: u64) -> Html {
    let mut html = Html::new();
    html.raw("<a href=\"/v1/entries/")
        .display(seq)
        .raw("/proof\">receipt</a> · <a href=\"/v1/entries/")
        .display(seq)
        .raw("\">entry ")
        .display(seq)
        .raw("</a>");
    html
}

/// The donor-reference form: the charity's id and the donor's own reference.
struct DonorForm {
    org: String,
    donor_ref: String,
}

/// The donor-reference form's fields: each exactly once, nothing else.
fn parse_donor_form(headers: &HeaderMap, body: &[u8]) -> Result<DonorForm, PageError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(PageError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the lookup form as application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| PageError::bad_field("form", format!("the form does not decode: {e}")))?;
    let mut org = None;
    let mut donor_ref = None;
    for (name, value) in pairs {
        let slot = match name.as_str() {
            "org" => &mut org,
            "donor_ref" => &mut donor_ref,
            _ => {
                return Err(PageError::bad_field(
                    &name,
                    format!("unknown form field {name:?}; the form has org and donor_ref"),
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(PageError::bad_field(
                &name,
                format!("{name} is given more than once"),
            ));
        }
    }
    Ok(DonorForm {
        org: org.ok_or_else(|| PageError::bad_field("org", "give the charity id"))?,
        donor_ref: donor_ref
            .ok_or_else(|| PageError::bad_field("donor_ref", "give your donor reference"))?,
    })
}

pub async fn donor_lookup_form(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let lookup = parse_donor_form(&headers, &body)?;
    let donations = donations_of_donor(&state, client, &lookup.org, &lookup.donor_ref).await?;
    let org = lookup.org;
    let mut main = Html::new();
    main.raw("<h1>Your donations to <code>")
        .text(&org)
        .raw("</code></h1>\n");
    if donations.is_empty() {
        main.raw(
            "<p id=\"donor-results\">No donation to this charity matches that reference. \
                  Check the charity id and the reference exactly as you gave it.</p>\n",
        );
    } else {
        main.raw("<ul id=\"donor-results\" class=\"cards\">\n");
        for d in &donations {
            main.raw("<li><a href=\"/lookup?org=")
                .segment(&d.org)
                .raw("&amp;donation=")
                .segment(&d.id)
                .raw("\">Donation <code>")
                .text(&d.id)
                .raw("</code></a>: ")
                .text(&amount(&d.currency, d.amount))
                .raw(" to campaign ")
                .text(&d.campaign)
                .raw(", ")
                .text(&d.received_at)
                .raw("</li>\n");
        }
        main.raw("</ul>\n");
    }
    main.append(forms(&org, ""));
    let mut response = layout::page("Your donations", main, &[]);
    // The answer to a private question: never cached anywhere.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Who witnessed the checkpoint the receipts use, as this server's policy names them (the
/// browser checks the cosignatures against a policy the visitor pins).
fn witnessed_by(policy: Option<&crate::log::policy::Policy>, trace: &Trace) -> String {
    let Some(policy) = policy else {
        return "This log is not witnessed: its checkpoints carry the log's signature only."
            .to_string();
    };
    let size = trace.receipts_checkpoint.size;
    if !trace.receipts_checkpoint.witnessed {
        return format!(
            "The receipts below use the checkpoint of {size} entries, which the witnesses have not cosigned yet; reload in a moment."
        );
    }
    let names: Vec<String> = policy
        .cosigners(&trace.checkpoint)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            let witness = &policy.witnesses[*i];
            format!("{} ({})", witness.name, witness.key.name())
        })
        .collect();
    format!(
        "The receipts below use the checkpoint of {size} entries, cosigned by the witnesses {}.",
        names.join(", ")
    )
}
