//! `/orgs/{org}/campaigns/{campaign}`: one campaign — its totals (received, paid out,
//! held), what the beneficiaries acknowledged, a flow diagram from the donations to the
//! stated beneficiaries (overhead and fees visible), the limits it published on payouts to
//! people, and the latest payouts.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;

use super::caps;
use super::html::Html;
use super::i18n::{Arg, t, t_args};
use super::names::{beneficiary_label, kind, org_name};
use super::sankey::{self, Diagram, Flow, FlowKind};
use super::{PageError, PagePath, amount, count, date_time, layout, permille};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::read::campaigns::{CampaignView, campaign_view};
use crate::read::disbursements::disbursement_view;

/// Payouts listed under "latest payouts".
const LATEST_DISBURSEMENTS: u64 = 20;
/// Beneficiaries the diagram names one by one: the largest, each with at least 1/50 (2 %)
/// of everything received, and every overhead and refunds line; the rest are drawn as one
/// band per kind so the diagram stays readable on a phone.
const SANKEY_NAMED_MAX: usize = 6;
const SANKEY_NAMED_MIN_SHARE_DIVISOR: i64 = 50;

/// `count` beneficiaries of a kind, as a group is named in the diagram.
fn kind_group(kind: &str, count: usize) -> String {
    let id = match kind {
        "person" => "group-person",
        "organization" => "group-organization",
        "supplier" => "group-supplier",
        "overhead" => "group-overhead",
        "refunds" => "group-refunds",
        _ => "group-other",
    };
    t_args(id, &[("count", count.into())])
}

/// The flows of the diagram: the largest beneficiaries and every overhead line by name,
/// the rest grouped by kind, then fees and what is held. They add up to `received`.
fn diagram(view: &CampaignView, labels: &BTreeMap<String, String>) -> Diagram {
    let money = |minor: i64| amount(&view.currency, minor);
    let mut stated: Vec<_> = view.beneficiaries.iter().collect();
    stated.sort_by_key(|b| std::cmp::Reverse(b.disbursed));
    let mut flows = Vec::new();
    let mut groups: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
    let mut named = 0;
    let mut named_kinds = std::collections::BTreeSet::new();
    for b in &stated {
        let always = b.kind == "overhead" || b.kind == "refunds";
        let large = b.disbursed > 0
            && i128::from(b.disbursed) * i128::from(SANKEY_NAMED_MIN_SHARE_DIVISOR)
                >= i128::from(view.totals.received);
        if always || (large && named < SANKEY_NAMED_MAX) {
            named += usize::from(!always);
            named_kinds.insert(b.kind.as_str());
            flows.push(Flow {
                key: b.beneficiary.clone(),
                label: labels
                    .get(&b.beneficiary)
                    .cloned()
                    .unwrap_or_else(|| b.beneficiary.clone()),
                kind: FlowKind::of_beneficiary(&b.kind),
                amount_minor: b.disbursed,
                amount_text: money(b.disbursed),
            });
        } else if b.disbursed > 0 {
            let group = groups.entry(b.kind.as_str()).or_default();
            group.0 += b.disbursed;
            group.1 += 1;
        }
    }
    for (kind, (sum, count)) in groups {
        flows.push(Flow {
            key: format!("others-{kind}"),
            label: if named_kinds.contains(kind) {
                t_args(
                    "sankey-group-other",
                    &[("group", Arg::Text(&kind_group(kind, count)))],
                )
            } else {
                kind_group(kind, count)
            },
            kind: FlowKind::of_beneficiary(kind),
            amount_minor: sum,
            amount_text: money(sum),
        });
    }
    // Beneficiaries past the listed ones (a campaign stating more than a page of them).
    let listed: i64 = view.beneficiaries.iter().map(|b| b.disbursed).sum();
    let unlisted = view.totals.disbursed - listed;
    if unlisted > 0 {
        flows.push(Flow {
            key: "others-unlisted".into(),
            label: t("sankey-unlisted"),
            kind: FlowKind::Other,
            amount_minor: unlisted,
            amount_text: money(unlisted),
        });
    }
    flows.push(Flow {
        key: "fees".into(),
        label: t("sankey-fees"),
        kind: FlowKind::Fees,
        amount_minor: view.totals.fees,
        amount_text: money(view.totals.fees),
    });
    flows.push(Flow {
        key: "held".into(),
        label: t("sankey-held"),
        kind: FlowKind::Held,
        amount_minor: view.totals.held,
        amount_text: money(view.totals.held),
    });
    Diagram {
        source_label: t("sankey-source"),
        source_amount_text: money(view.totals.received),
        total_minor: view.totals.received,
        flows,
    }
}

pub async fn campaign_page(
    State(state): State<AppState>,
    PathParams((org, id), _): PagePath<(Id, Id)>,
) -> Result<Response, PageError> {
    let (org, id) = (org.into_string(), id.into_string());
    let row = state.store.campaign(&org, &id).await?.ok_or_else(|| {
        PageError::not_found(t_args(
            "error-no-campaign",
            &[("org", Arg::Text(&org)), ("campaign", Arg::Text(&id))],
        ))
    })?;
    let view = campaign_view(&state.store, row, true).await?;
    let org_name = org_name(&state, &org).await?;
    let mut labels = BTreeMap::new();
    for b in &view.beneficiaries {
        let label = beneficiary_label(&state, &org, &b.beneficiary).await?;
        labels.insert(b.beneficiary.clone(), label);
    }
    let mut latest = Vec::new();
    for row in state
        .store
        .latest_disbursements(&org, &id, LATEST_DISBURSEMENTS)
        .await?
    {
        latest.push(disbursement_view(&state.store, row).await?);
    }
    let money = |minor: i64| amount(&view.currency, minor);
    let totals = &view.totals;

    let mut main = Html::new();
    main.raw("<p class=\"crumbs\"><a href=\"/\">")
        .t("crumb-log")
        .raw("</a> › <a href=\"/orgs/")
        .segment(&org)
        .raw("\">")
        .text(&org_name)
        .raw("</a> › ")
        .t("campaign-crumb")
        .raw("</p>\n")
        .element("<h1>", &view.title, "</h1>\n")
        .element("<p class=\"lead\">", &view.purpose, "</p>\n")
        .raw("<p class=\"muted\">")
        .message(
            "campaign-about",
            &[
                ("id", Arg::Text(&view.id)),
                ("currency", Arg::Text(&view.currency)),
                ("date", Arg::Text(&date_time(&view.opened_at))),
            ],
        )
        .raw("</p>\n");

    main.raw("<section aria-labelledby=\"totals\"><h2 id=\"totals\">")
        .t("campaign-money")
        .raw("</h2>\n<dl class=\"totals\"><div><dt>")
        .t("campaign-received")
        .raw("</dt><dd id=\"total-received\">")
        .text(&money(totals.received))
        .raw("</dd><dd class=\"muted\">");
    if totals.donations == 0 {
        main.t("campaign-received-none");
    } else {
        let donations = t_args("donations-count", &[("count", totals.donations.into())]);
        main.t_args(
            "campaign-received-note",
            &[
                ("donations", Arg::Text(&donations)),
                ("fees", Arg::Text(&money(totals.fees))),
            ],
        );
    }
    main.raw("</dd></div><div><dt>")
        .t("campaign-paid-out")
        .raw("</dt><dd id=\"total-disbursed\">")
        .text(&money(totals.disbursed))
        .raw("</dd><dd class=\"muted\">")
        .t_args("payouts-count", &[("count", totals.disbursements.into())])
        .raw("</dd></div><div><dt>")
        .t("campaign-held")
        .raw("</dt><dd id=\"total-held\">")
        .text(&money(totals.held))
        .raw("</dd><dd class=\"muted\">")
        .t("campaign-held-note")
        .raw("</dd></div></dl>\n<h3>")
        .t("confirmed-heading")
        .raw("</h3>\n<p id=\"acknowledged\">")
        .append(confirmations(&view))
        .raw("</p>\n</section>\n");

    main.raw("<section aria-labelledby=\"flows\"><h2 id=\"flows\">")
        .t("flows-heading")
        .raw("</h2>\n<figure class=\"sankey-figure\">\n")
        .append(sankey::render(&diagram(&view, &labels)))
        .raw("<figcaption>")
        .t("flows-caption")
        .raw("</figcaption>\n</figure>\n</section>\n");

    if !view.limits.is_none() {
        let spread = state
            .store
            .monthly_spread(&org, &id, caps::SPREAD_BARS)
            .await?;
        main.append(caps::limits_section(&view.currency, &view.limits, &spread));
    }

    main.raw("<section aria-labelledby=\"stated\"><h2 id=\"stated\">")
        .t("stated-heading")
        .raw("</h2>\n<p>")
        .t("stated-about")
        .raw("</p>\n");
    if view.beneficiaries.is_empty() {
        main.raw("<p>").t("stated-none").raw("</p>\n");
    } else {
        main.raw("<div class=\"scroll\" tabindex=\"0\"><table id=\"beneficiaries\"><thead><tr><th scope=\"col\">")
            .t("col-beneficiary")
            .raw("</th><th scope=\"col\">")
            .t("col-kind")
            .raw("</th><th scope=\"col\" class=\"num\">")
            .t("col-paid")
            .raw("</th><th scope=\"col\" class=\"num\">")
            .t("col-payouts")
            .raw("</th></tr></thead><tbody>\n");
        for b in &view.beneficiaries {
            main.raw("<tr><th scope=\"row\">")
                .text(labels.get(&b.beneficiary).unwrap_or(&b.beneficiary))
                .raw(" <small class=\"muted\">")
                .text(&b.beneficiary)
                .raw("</small></th><td>")
                .text(&kind(&b.kind))
                .raw("</td><td class=\"num\">")
                .text(&money(b.disbursed))
                .raw("</td><td class=\"num\">")
                .text(&count(b.disbursements as i64))
                .raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"latest\"><h2 id=\"latest\">")
        .t("latest-heading")
        .raw("</h2>\n");
    if latest.is_empty() {
        main.raw("<p>").t("latest-none").raw("</p>\n");
    } else {
        let (to, amount_head, when, says) =
            (t("col-to"), t("col-amount"), t("col-when"), t("col-says"));
        main.raw("<div class=\"scroll\" tabindex=\"0\"><table id=\"latest-disbursements\" class=\"stack\"><thead><tr><th scope=\"col\">")
            .t("col-payout")
            .raw("</th><th scope=\"col\">")
            .text(&to)
            .raw("</th><th scope=\"col\" class=\"num\">")
            .text(&amount_head)
            .raw("</th><th scope=\"col\">")
            .text(&when)
            .raw("</th><th scope=\"col\">")
            .text(&says)
            .raw("</th></tr></thead><tbody>\n");
        for d in &latest {
            main.raw("<tr><th scope=\"row\"><code>")
                .text(&d.id)
                .raw("</code><br><small>")
                .text(&d.purpose)
                .raw("</small></th><td data-label=\"")
                .text(&to)
                .raw("\">")
                .text(labels.get(&d.beneficiary).unwrap_or(&d.beneficiary))
                .raw(" <small class=\"muted\">")
                .text(&kind(&d.beneficiary_kind))
                .raw("</small></td><td class=\"num\" data-label=\"")
                .text(&amount_head)
                .raw("\">")
                .text(&money(d.amount))
                .raw("</td><td data-label=\"")
                .text(&when)
                .raw("\">");
            match &d.occurred_at {
                Some(occurred) => {
                    main.text(&date_time(occurred))
                        .raw("<br><small class=\"muted\">")
                        .t_args(
                            "payout-logged",
                            &[("date", Arg::Text(&date_time(&d.disbursed_at)))],
                        )
                        .raw("</small>");
                }
                None => {
                    main.text(&date_time(&d.disbursed_at));
                }
            }
            main.raw("</td><td data-label=\"").text(&says).raw("\">");
            match &d.acknowledgement {
                Some(a) if a.status == "received" => {
                    main.raw("<span class=\"ok\">")
                        .t("says-received")
                        .raw("</span>");
                }
                Some(a) => {
                    main.raw("<span class=\"bad\">")
                        .t_args(
                            "says-disputed",
                            &[("amount", Arg::Text(&money(a.amount_received)))],
                        )
                        .raw("</span>");
                }
                None => {
                    main.raw("<span class=\"muted\">")
                        .t("says-nothing")
                        .raw("</span>");
                }
            }
            main.raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"data\"><h2 id=\"data\">")
        .t("campaign-data")
        .raw("</h2><ul>")
        .raw("<li><a href=\"/v1/exports/donations.csv?org=")
        .segment(&org)
        .raw("&amp;campaign=")
        .segment(&id)
        .raw("\">donations.csv</a></li><li><a href=\"/v1/exports/disbursements.csv?org=")
        .segment(&org)
        .raw("&amp;campaign=")
        .segment(&id)
        .raw("\">disbursements.csv</a></li><li><a href=\"/v1/exports/flows.csv?org=")
        .segment(&org)
        .raw("&amp;campaign=")
        .segment(&id)
        .raw("\">flows.csv</a> ")
        .t("campaign-data-flows")
        .raw("</li></ul>\n</section>\n");
    Ok(layout::page(&view.title, main, &[]))
}

/// What the beneficiaries confirmed and disputed, saying only what happened.
fn confirmations(view: &CampaignView) -> Html {
    let money = |minor: i64| amount(&view.currency, minor);
    let acks = &view.acknowledgements;
    let mut html = Html::new();
    if view.totals.disbursements == 0 {
        html.t("confirmed-nothing-paid");
        return html;
    }
    let (confirmed, disputed) = (&acks.acknowledged, &acks.disputed);
    if confirmed.disbursements == 0 && disputed.disbursements == 0 {
        html.t("confirmed-none");
    }
    if confirmed.disbursements > 0 {
        let payouts = t_args(
            "payouts-count",
            &[("count", confirmed.disbursements.into())],
        );
        html.message(
            "confirmed-acknowledged",
            &[
                ("amount", Arg::Text(&money(confirmed.amount))),
                ("share", Arg::Text(&permille(confirmed.share_permille))),
                ("payouts", Arg::Text(&payouts)),
            ],
        );
    }
    if disputed.disbursements > 0 {
        let payouts = t_args("payouts-count", &[("count", disputed.disbursements.into())]);
        html.raw(" ").message(
            "confirmed-disputed",
            &[
                ("amount", Arg::Text(&money(disputed.amount))),
                ("share", Arg::Text(&permille(disputed.share_permille))),
                ("payouts", Arg::Text(&payouts)),
                ("arrived", Arg::Text(&money(disputed.amount_received))),
            ],
        );
    }
    if acks.unconfirmed > 0 && (confirmed.disbursements > 0 || disputed.disbursements > 0) {
        html.raw(" ").t_args(
            "confirmed-open",
            &[("amount", Arg::Text(&money(acks.unconfirmed)))],
        );
    }
    html.raw(" ").t("confirmed-caveat");
    html
}
