//! `/orgs/{org}`: one charity — who it is, its campaigns with their totals, and its
//! signed reports with the result of checking each signature again.

use axum::extract::State;
use axum::response::Response;

use super::html::Html;
use super::i18n::{Arg, t_args};
use super::{PageError, PagePath, amount, count, date_time, layout};
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
        PageError::not_found(t_args("error-no-charity", &[("org", Arg::Text(&org))]))
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
    main.raw("<p class=\"crumbs\"><a href=\"/\">")
        .t("crumb-log")
        .raw("</a> › ")
        .t("org-crumb")
        .raw("</p>\n")
        .element("<h1 class=\"org-name\">", &view.name, "</h1>\n")
        .raw("<dl class=\"facts\"><dt>")
        .t("id-label")
        .raw("</dt><dd><code>")
        .text(&view.id)
        .raw("</code></dd><dt>")
        .t("org-country")
        .raw("</dt><dd>")
        .text(&view.country)
        .raw("</dd>");
    if let Some(number) = &view.charity_number {
        main.raw("<dt>")
            .t("org-charity-number")
            .raw("</dt><dd>")
            .text(number)
            .raw("</dd>");
    }
    main.raw("<dt>")
        .t("org-registered")
        .raw("</dt><dd>")
        .text(&date_time(&view.registered_at))
        .raw(" <small class=\"muted\">(")
        .t_args("entry-number", &[("seq", view.seq.into())])
        .raw(")</small></dd><dt>")
        .t("org-key")
        .raw("</dt><dd>");
    match &view.public_key {
        Some(key) => main
            .raw("<code class=\"key\">")
            .text(key)
            .raw("</code><br><small>")
            .t("org-key-note")
            .raw("</small></dd>"),
        None => main.t("org-no-key").raw("</dd>"),
    };
    main.raw("</dl>\n");

    main.raw("<section aria-labelledby=\"campaigns\"><h2 id=\"campaigns\">")
        .t("org-campaigns")
        .raw("</h2>\n");
    if campaigns.is_empty() {
        main.raw("<p>").t("org-no-campaign").raw("</p>\n");
    } else {
        main.raw("<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">")
            .t("col-campaign")
            .raw("</th><th scope=\"col\" class=\"num\">")
            .t("col-received")
            .raw("</th><th scope=\"col\" class=\"num\">")
            .t("col-paid-out")
            .raw("</th><th scope=\"col\" class=\"num\">")
            .t("col-held")
            .raw("</th><th scope=\"col\" class=\"num\">")
            .t("col-donations")
            .raw("</th></tr></thead><tbody>\n");
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
                .text(&count(c.totals.donations as i64))
                .raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"reports\"><h2 id=\"reports\">")
        .t("org-reports")
        .raw("</h2>\n");
    if reports.is_empty() {
        main.raw("<p>").t("org-no-report").raw("</p>\n");
    } else {
        main.raw("<p>")
            .t("org-reports-about")
            .raw("</p>\n<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">")
            .t("col-report")
            .raw("</th><th scope=\"col\">")
            .t("col-range")
            .raw("</th><th scope=\"col\">")
            .t("col-signature")
            .raw("</th></tr></thead><tbody>\n");
        for r in &reports {
            main.raw("<tr><th scope=\"row\"><a href=\"/v1/orgs/")
                .segment(&org)
                .raw("/reports/")
                .segment(&r.report)
                .raw("\">")
                .text(&r.report)
                .raw("</a></th><td>");
            if r.to_size > r.from_size {
                main.t_args(
                    "report-range",
                    &[("from", r.from_size.into()), ("to", (r.to_size - 1).into())],
                );
            } else {
                main.t("report-empty");
            }
            main.raw("</td><td>");
            if r.verification.signature_valid {
                main.raw("<span class=\"ok report-status\">")
                    .t("report-verified")
                    .raw("</span>");
            } else {
                main.raw("<span class=\"bad report-status\">")
                    .t("report-failed")
                    .raw("</span>");
            }
            main.raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"data\"><h2 id=\"data\">")
        .t("org-data")
        .raw("</h2>\n<ul><li><a href=\"/downloads?org=")
        .segment(&org)
        .raw("\">")
        .t("org-data-csv")
        .raw("</a></li><li><a href=\"/v1/orgs/")
        .segment(&org)
        .raw("\">")
        .t("org-data-api")
        .raw("</a></li></ul>\n</section>\n");
    Ok(layout::page(&view.name, main, &[]))
}
