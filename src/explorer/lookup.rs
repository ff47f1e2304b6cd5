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

use super::home::{charities, charity_field};
use super::html::Html;
use super::i18n::{Arg, browser_messages, t, t_args};
use super::names::{beneficiary_label, campaign_title, kind, org_name};
use super::qr;
use super::{PageError, PageQuery, amount, date_time, layout};
use crate::app::AppState;
use crate::input::{ClientAddr, Id};
use crate::read::donations::Trace;
use crate::read::donations::{donation_view, donations_of_donor, find_donation, trace};
use crate::read::orgs::OrgView;
use crate::read::{MAX_TRACE_PAGE, ReadError};

/// The two lookup forms: by donation id (GET) and by donor reference (POST), the charity
/// chosen by name.
fn forms(orgs: &[OrgView], org: &str, donation: &str) -> Html {
    let mut html = Html::new();
    html.raw("<div class=\"forms\">\n<form class=\"lookup\" method=\"get\" action=\"/lookup\">\n<h2>")
        .t("lookup-by-id")
        .raw("</h2>\n")
        .append(charity_field("org", orgs, org))
        .raw("<label for=\"donation\">")
        .t("form-donation")
        .raw("</label><input id=\"donation\" name=\"donation\" required autocomplete=\"off\" value=\"")
        .text(donation)
        .raw("\">\n<button type=\"submit\">")
        .t("lookup-show")
        .raw("</button>\n</form>\n")
        .raw("<form class=\"lookup\" method=\"post\" action=\"/lookup\">\n<h2>")
        .t("lookup-by-reference")
        .raw("</h2>\n")
        .append(charity_field("ref-org", orgs, org))
        .raw("<label for=\"donor_ref\">")
        .t("lookup-reference")
        .raw("</label><input id=\"donor_ref\" name=\"donor_ref\" type=\"password\" required autocomplete=\"off\">\n")
        .raw("<button type=\"submit\">")
        .t("lookup-find-mine")
        .raw("</button>\n<p class=\"muted\"><small>")
        .t("lookup-reference-note")
        .raw("</small></p>\n</form>\n</div>\n");
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
            let orgs = charities(&state).await?;
            let mut main = Html::new();
            main.raw("<h1>")
                .t("lookup-title")
                .raw("</h1>\n<p class=\"lead\">")
                .t("lookup-lead")
                .raw("</p>\n")
                .append(forms(&orgs, "", ""));
            return Ok(layout::page(&t("lookup-title"), main, &[]));
        }
        (Some(_), None) => {
            return Err(PageError::bad_field("donation", t("error-give-donation")));
        }
        (None, Some(_)) => {
            return Err(PageError::bad_field("org", t("error-give-charity")));
        }
        (Some(org), Some(donation)) => (org, donation),
    };
    if state.store.org_seq(&org).await?.is_none() {
        let args = [("org", Arg::Text(&org))];
        return Err(PageError::not_found(t_args("error-no-charity", &args)));
    }
    let found = match find_donation(&state.store, &org, &donation).await {
        Err(ReadError::NotFound(_)) => {
            let args = [("org", Arg::Text(&org)), ("donation", Arg::Text(&donation))];
            return Err(PageError::not_found(t_args("error-no-donation", &args)));
        }
        found => found?,
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
    let record = donation_view(&state.store, found).await?;
    let mut labels = BTreeMap::new();
    for flow in &trace.flows {
        if !labels.contains_key(&flow.beneficiary) {
            let label = beneficiary_label(&state, &org, &flow.beneficiary).await?;
            labels.insert(flow.beneficiary.clone(), label);
        }
    }
    let org_name = org_name(&state, &org).await?;
    let campaign_title = campaign_title(&state, &org, &trace.campaign).await?;
    let money = |minor: i64| amount(&trace.currency, minor);

    let mut main = Html::new();
    main.raw("<p class=\"crumbs\"><a href=\"/\">")
        .t("crumb-log")
        .raw("</a> › <a href=\"/orgs/")
        .segment(&org)
        .raw("\">")
        .text(&org_name)
        .raw("</a> › <a href=\"/orgs/")
        .segment(&org)
        .raw("/campaigns/")
        .segment(&trace.campaign)
        .raw("\">")
        .text(&campaign_title)
        .raw("</a> › ")
        .t("lookup-crumb-donation")
        .raw("</p>\n<h1>")
        .t("donation-heading")
        .raw(" <code>")
        .text(&trace.donation)
        .raw("</code></h1>\n<dl class=\"facts\"><dt>")
        .t("donation-given")
        .raw("</dt><dd>");
    let (given, fee) = (money(record.amount), money(record.fee));
    let given_args = [
        ("amount", Arg::Text(&given)),
        ("channel", Arg::Text(&record.channel)),
        ("fee", Arg::Text(&fee)),
    ];
    if record.fee > 0 {
        main.t_args("donation-given-fee", &given_args);
    } else {
        main.t_args("donation-given-by", &given_args);
    }
    main.raw("</dd><dt>")
        .t("donation-recorded")
        .raw("</dt><dd>")
        .append(when(&record.received_at))
        .raw(" <small class=\"muted\">(")
        .t_args("entry-number", &[("seq", trace.seq.into())])
        .raw(")</small></dd><dt>")
        .t("donation-paid-out")
        .raw("</dt><dd id=\"funded\">")
        .text(&money(trace.funded))
        .raw("</dd><dt>")
        .t("donation-held")
        .raw("</dt><dd id=\"held\">")
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
    main.raw(" data-messages=\"")
        .text(browser_messages())
        .raw("\" data-state=\"idle\">\n<h2 id=\"verify-head\">")
        .t("verify-heading")
        .raw("</h2>\n<noscript><p class=\"warn\">")
        .message("verify-noscript", &[])
        .raw("</p></noscript>\n")
        .raw("<div id=\"key-status\" role=\"status\" aria-live=\"polite\"></div>\n")
        .raw("<p id=\"witnessed\">")
        .text(&witnessed_by(state.witness_policy.as_deref(), &trace))
        .raw("</p>\n<div id=\"witness-status\" role=\"status\" aria-live=\"polite\"></div>\n")
        .raw("<details id=\"pin\" class=\"pin\" hidden>\n<summary>")
        .t("pin-summary")
        .raw("</summary>\n<label for=\"pinned-key\">")
        .t("pin-key")
        .raw("</label>\n")
        .raw("<textarea id=\"pinned-key\" rows=\"2\" spellcheck=\"false\" autocomplete=\"off\"></textarea>\n")
        .raw("<label for=\"pinned-policy\">")
        .t("pin-policy")
        .raw("</label>\n<textarea id=\"pinned-policy\" rows=\"5\" spellcheck=\"false\" autocomplete=\"off\"></textarea>\n")
        .raw("<div class=\"buttons\"><button type=\"button\" id=\"pin-save\">")
        .t("pin-save")
        .raw("</button><button type=\"button\" id=\"pin-forget\">")
        .t("pin-forget")
        .raw("</button></div>\n</details>\n")
        .raw("<p id=\"verify-summary\" role=\"status\" aria-live=\"polite\"></p>\n")
        .raw("<div id=\"log-status\" role=\"status\" aria-live=\"polite\"></div>\n</section>\n");

    let (step, amount_head, receipt, check) = (
        t("trace-step"),
        t("trace-amount"),
        t("trace-receipt"),
        t("trace-check"),
    );
    main.raw("<section aria-labelledby=\"trace-head\"><h2 id=\"trace-head\">")
        .t("trace-heading")
        .raw("</h2>\n<p>")
        .t("trace-rule")
        .raw("</p>\n<div class=\"scroll\" tabindex=\"0\"><table id=\"trace\" class=\"stack\"><thead><tr><th scope=\"col\">")
        .text(&step)
        .raw("</th><th scope=\"col\" class=\"num\">")
        .text(&amount_head)
        .raw("</th><th scope=\"col\">")
        .text(&receipt)
        .raw("</th><th scope=\"col\">")
        .text(&check)
        .raw("</th></tr></thead><tbody>\n");
    let row_end = |main: &mut Html, seq: u64, amount: &str| {
        main.raw("</th><td class=\"num\" data-label=\"")
            .text(&amount_head)
            .raw("\">")
            .text(amount)
            .raw("</td><td data-label=\"")
            .text(&receipt)
            .raw("\">")
            .append(receipt_links(seq))
            .raw("</td><td class=\"step-status\" data-label=\"")
            .text(&check)
            .raw("\" data-seq=\"")
            .display(seq)
            .raw("\">")
            .t("trace-not-checked")
            .raw("</td></tr>\n");
    };
    main.raw("<tr data-seq=\"")
        .display(trace.seq)
        .raw("\"><th scope=\"row\">")
        .message(
            "trace-received",
            &[
                ("org", Arg::Text(&org_name)),
                ("campaign", Arg::Text(&campaign_title)),
            ],
        );
    row_end(&mut main, trace.seq, &money(trace.net));
    for flow in &trace.flows {
        main.raw("<tr data-seq=\"")
            .display(flow.seq)
            .raw("\"><th scope=\"row\">")
            .message(
                "trace-paid",
                &[
                    (
                        "beneficiary",
                        Arg::Text(labels.get(&flow.beneficiary).unwrap_or(&flow.beneficiary)),
                    ),
                    ("kind", Arg::Text(&kind(&flow.beneficiary_kind))),
                    ("payout", Arg::Text(&flow.disbursement)),
                ],
            );
        row_end(&mut main, flow.seq, &money(flow.amount));
    }
    main.raw("</tbody></table></div>\n");
    if trace.flows.is_empty() && after.is_none() {
        main.raw("<p id=\"trace-none\">")
            .t("trace-none-yet")
            .raw("</p>\n");
    }
    if let Some(next) = trace.next {
        main.raw("<p><a href=\"/lookup?org=")
            .segment(&org)
            .raw("&amp;donation=")
            .segment(&trace.donation)
            .raw("&amp;after=")
            .display(next)
            .raw("\">")
            .t("trace-next")
            .raw("</a></p>\n");
    }
    main.raw("</section>\n");
    Ok(layout::page(
        &t_args(
            "donation-title",
            &[("donation", Arg::Text(&trace.donation))],
        ),
        main,
        &["lookup.js"],
    ))
}

/// A time the service wrote (RFC 3339, UTC), for the reader, inside `<time>`.
fn when(iso: &str) -> Html {
    let mut html = Html::new();
    html.raw("<time datetime=\"")
        .text(iso)
        .raw("\">")
        .text(&date_time(iso))
        .raw("</time>");
    html
}

/// "Keep it": the donation's one-file receipt, how to check it, and a QR code of this
/// page's own link (the org and donation ids only, never a donor reference).
fn keep_section(headers: &HeaderMap, org: &str, donation: &str) -> Html {
    let mut html = Html::new();
    html.raw("<section class=\"keep\" aria-labelledby=\"keep-head\"><h2 id=\"keep-head\">")
        .t("keep-heading")
        .raw("</h2>\n")
        .raw("<p><a class=\"button\" id=\"receipt-download\" download href=\"/v1/orgs/")
        .segment(org)
        .raw("/donations/")
        .segment(donation)
        .raw("/receipt\">")
        .t("keep-download")
        .raw("</a></p>\n<p><small>")
        .message("keep-note", &[])
        .raw("</small></p>\n");
    let path = format!(
        "/lookup?org={}&donation={}",
        super::html::percent_encode(org),
        super::html::percent_encode(donation)
    );
    if let Some(base) = qr::public_base(headers)
        && let Some(code) = qr::qr_svg(&format!("{base}{path}"), &t("keep-qr-alt"))
    {
        html.raw("<figure class=\"qr-link\">")
            .append(code)
            .raw("<figcaption>")
            .t("keep-qr-caption")
            .raw(" <code>")
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
        .raw("/proof\">")
        .t("receipt-link")
        .raw("</a> · <a href=\"/v1/entries/")
        .display(seq)
        .raw("\">")
        .t_args("entry-number", &[("seq", seq.into())])
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
            t("error-form-type"),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        PageError::bad_field("form", format!("{} ({e})", t("error-form-undecodable")))
    })?;
    let mut org = None;
    let mut donor_ref = None;
    for (name, value) in pairs {
        let slot = match name.as_str() {
            "org" => &mut org,
            "donor_ref" => &mut donor_ref,
            _ => {
                return Err(PageError::bad_field(
                    &name,
                    t_args("error-form-unknown-field", &[("name", Arg::Text(&name))]),
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(PageError::bad_field(
                &name,
                t_args("error-form-repeated", &[("name", Arg::Text(&name))]),
            ));
        }
    }
    Ok(DonorForm {
        org: org.ok_or_else(|| PageError::bad_field("org", t("error-form-give-charity")))?,
        donor_ref: donor_ref
            .ok_or_else(|| PageError::bad_field("donor_ref", t("error-form-give-reference")))?,
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
    let name = org_name(&state, &org).await?;
    let mut main = Html::new();
    main.raw("<h1>")
        .t_args("donor-heading", &[("org", Arg::Text(&name))])
        .raw("</h1>\n");
    if donations.is_empty() {
        main.raw("<p id=\"donor-results\">")
            .t("donor-none")
            .raw("</p>\n");
    } else {
        main.raw("<ul id=\"donor-results\" class=\"cards\">\n");
        for d in &donations {
            let title = campaign_title(&state, &d.org, &d.campaign).await?;
            main.raw("<li><a href=\"/lookup?org=")
                .segment(&d.org)
                .raw("&amp;donation=")
                .segment(&d.id)
                .raw("\">")
                .t("donation-heading")
                .raw(" <code>")
                .text(&d.id)
                .raw("</code></a>: ")
                .t_args(
                    "donor-row",
                    &[
                        ("amount", Arg::Text(&amount(&d.currency, d.amount))),
                        ("campaign", Arg::Text(&title)),
                        ("date", Arg::Text(&date_time(&d.received_at))),
                    ],
                )
                .raw("</li>\n");
        }
        main.raw("</ul>\n");
    }
    let orgs = charities(&state).await?;
    main.append(forms(&orgs, &org, ""));
    let mut response = layout::page(&t("donor-title"), main, &[]);
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
        return t("witness-none");
    };
    let size = trace.receipts_checkpoint.size;
    if !trace.receipts_checkpoint.witnessed {
        return t_args("witness-pending", &[("size", size.into())]);
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
    t_args(
        "witness-cosigned",
        &[
            ("size", size.into()),
            ("witnesses", Arg::Text(&names.join(", "))),
        ],
    )
}
