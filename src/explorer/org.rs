//! `/orgs/{org}`: one charity — who it is, its campaigns with their totals, and its
//! signed reports with the result of checking each signature again.

use axum::extract::State;
use axum::response::Response;

use super::html::Html;
use super::{PageError, PagePath, amount, layout};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::ledger::records::Scope;
use crate::read::MAX_LIST_PAGE;
use crate::read::campaigns::campaign_view;
use crate::read::orgs::org_view;
use crate::read::reports::report_view;

pub async fn org_page(
    State(state): State<AppState>,
    PathParams(org, _): PagePath<Id>,
) -> Result<Response, PageError> {
    let org = org.into_string();
    let seq = state.store.org_seq(&org).await?.ok_or_else(|| {
        PageError::not_found(format!("no charity with the id {org:?} is registered"))
    })?;
    let view = org_view(&state.store, org.clone(), seq).await?;
    let mut campaigns = Vec::new();
    for row in state.store.campaigns(&org, None, MAX_LIST_PAGE).await? {
        campaigns.push(campaign_view(&state.store, row, false).await?);
    }
    let mut reports = Vec::new();
    for seq in state
        .store
        .org_record_seqs(&org, Scope::Report, None, MAX_LIST_PAGE)
        .await?
    {
        reports.push(report_view(&state.store, &state.log.origin, &org, seq, None).await?);
    }

    let mut main = Html::new();
    main.raw("<p class=\"crumbs\"><a href=\"/\">Log</a> › charity</p>\n")
        .element("<h1 class=\"org-name\">", &view.name, "</h1>\n")
        .raw("<dl class=\"facts\"><dt>Id</dt><dd><code>")
        .text(&view.id)
        .raw("</code></dd><dt>Country</dt><dd>")
        .text(&view.country)
        .raw("</dd>");
    if let Some(number) = &view.charity_number {
        main.element("<dt>Charity number</dt><dd>", number, "</dd>");
    }
    main.raw("<dt>Registered</dt><dd>")
        .text(&view.registered_at)
        .raw(" (entry ")
        .display(view.seq)
        .raw(")</dd>");
    match &view.public_key {
        Some(key) => main
            .raw("<dt>Report signing key</dt><dd><code class=\"key\">")
            .text(key)
            .raw(
                "</code><br><small>Stated when the charity was registered (or rotated \
                  since); compare it with the key on the charity's own site.</small></dd>",
            ),
        None => {
            main.raw("<dt>Report signing key</dt><dd>none: this charity cannot sign reports</dd>")
        }
    };
    main.raw("</dl>\n");

    main.raw("<section aria-labelledby=\"campaigns\"><h2 id=\"campaigns\">Campaigns</h2>\n");
    if campaigns.is_empty() {
        main.raw("<p>No campaign yet.</p>\n");
    } else {
        main.raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Campaign</th>\
                  <th scope=\"col\" class=\"num\">Received</th><th scope=\"col\" class=\"num\">Paid out</th>\
                  <th scope=\"col\" class=\"num\">Held</th><th scope=\"col\" class=\"num\">Donations</th></tr></thead><tbody>\n");
        for c in &campaigns {
            main.raw("<tr><th scope=\"row\"><a href=\"/orgs/")
                .segment(&c.org)
                .raw("/campaigns/")
                .segment(&c.id)
                .raw("\">")
                .text(&c.title)
                .raw("</a></th><td class=\"num\">")
                .text(&amount(&c.currency, c.totals.received))
                .raw("</td><td class=\"num\">")
                .text(&amount(&c.currency, c.totals.disbursed))
                .raw("</td><td class=\"num\">")
                .text(&amount(&c.currency, c.totals.held))
                .raw("</td><td class=\"num\">")
                .display(c.totals.donations)
                .raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"reports\"><h2 id=\"reports\">Signed reports</h2>\n");
    if reports.is_empty() {
        main.raw("<p>No report published yet.</p>\n");
    } else {
        main.raw("<p>A report states the charity's figures over a range of the log, signed \
                  with its key; the log accepted it only because every figure matched. Below, \
                  each signature is checked again now; the report's own API page also \
                  recomputes every figure.</p>\n")
            .raw("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Report</th>\
                  <th scope=\"col\">Log range</th><th scope=\"col\">Signature</th></tr></thead><tbody>\n");
        for r in &reports {
            main.raw("<tr><th scope=\"row\"><a href=\"/v1/orgs/")
                .segment(&org)
                .raw("/reports/")
                .segment(&r.report)
                .raw("\">")
                .text(&r.report)
                .raw("</a></th><td>");
            if r.to_size > r.from_size {
                main.raw("entries ")
                    .display(r.from_size)
                    .raw(" to ")
                    .display(r.to_size - 1);
            } else {
                main.raw("no entries");
            }
            main.raw("</td><td>");
            if r.verification.signature_valid {
                main.raw("<span class=\"ok report-status\">verified</span>");
            } else {
                main.raw(
                    "<span class=\"bad report-status\">FAILED: the signature does not \
                          verify under the charity's key</span>",
                );
            }
            main.raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"data\"><h2 id=\"data\">This charity's data</h2>\n<ul>")
        .raw("<li><a href=\"/downloads?org=")
        .segment(&org)
        .raw("\">Downloads (CSV) for this charity</a></li>")
        .raw("<li><a href=\"/v1/orgs/")
        .segment(&org)
        .raw("\">The charity in the API (JSON)</a></li></ul>\n</section>\n");
    Ok(layout::page(&view.name, main, &[]))
}
