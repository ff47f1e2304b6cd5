//! `/orgs/{org}/campaigns/{campaign}`: one campaign — its totals (received, paid out,
//! held), what the beneficiaries acknowledged, a flow diagram from the donations to the
//! stated beneficiaries (overhead and fees visible), the limits it published on payouts to
//! people, and the latest payouts.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;

use super::caps;
use super::html::Html;
use super::sankey::{self, Diagram, Flow, FlowKind};
use super::{PageError, PagePath, amount, layout, permille};
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::read::campaigns::{CampaignView, campaign_view};
use crate::read::disbursements::disbursement_view;
use crate::read::entries::{effective_fields, text};
use crate::store::StoreError;

/// Payouts listed under "latest payouts".
const LATEST_DISBURSEMENTS: u64 = 20;
/// Beneficiaries the diagram names one by one: the largest, each with at least 1/50 (2 %)
/// of everything received, and every overhead and refunds line; the rest are drawn as one
/// band per kind so the diagram stays readable on a phone.
const SANKEY_NAMED_MAX: usize = 6;
const SANKEY_NAMED_MIN_SHARE_DIVISOR: i64 = 50;

/// What a beneficiary is called: the (corrected) label of its registration entry.
pub async fn beneficiary_label(
    state: &AppState,
    org: &str,
    id: &str,
) -> Result<String, StoreError> {
    match state.store.beneficiary(org, id).await? {
        Some(row) => {
            let fields = effective_fields(&state.store, row.seq).await?.fields;
            Ok(text(&fields, "label").unwrap_or_else(|| id.to_string()))
        }
        None => Ok(id.to_string()),
    }
}

/// How `count` beneficiaries of a kind are named in a group.
fn kind_plural(kind: &str, count: usize) -> &'static str {
    let (one, many) = match kind {
        "person" => ("person", "persons"),
        "organization" => ("organisation", "organisations"),
        "supplier" => ("supplier", "suppliers"),
        "overhead" => ("overhead line", "overhead lines"),
        "refunds" => ("refund line", "refund lines"),
        _ => ("beneficiary", "beneficiaries"),
    };
    if count == 1 { one } else { many }
}

/// `count` followed by the noun, singular or plural.
fn counted(count: u64, one: &'static str, many: &'static str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
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
                format!("{count} other {}", kind_plural(kind, count))
            } else {
                format!("{count} {}", kind_plural(kind, count))
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
            label: "Other beneficiaries".into(),
            kind: FlowKind::Other,
            amount_minor: unlisted,
            amount_text: money(unlisted),
        });
    }
    flows.push(Flow {
        key: "fees".into(),
        label: "Payment fees".into(),
        kind: FlowKind::Fees,
        amount_minor: view.totals.fees,
        amount_text: money(view.totals.fees),
    });
    flows.push(Flow {
        key: "held".into(),
        label: "Held, not paid out yet".into(),
        kind: FlowKind::Held,
        amount_minor: view.totals.held,
        amount_text: money(view.totals.held),
    });
    Diagram {
        source_label: "Donations received".into(),
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
        PageError::not_found(format!(
            "charity {org:?} has no campaign with the id {id:?}"
        ))
    })?;
    let view = campaign_view(&state.store, row, true).await?;
    let org_name = match state.store.org_seq(&org).await? {
        Some(seq) => text(&effective_fields(&state.store, seq).await?.fields, "name")
            .unwrap_or_else(|| org.clone()),
        None => org.clone(),
    };
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
    let t = &view.totals;
    let acks = &view.acknowledgements;

    let mut main = Html::new();
    main.raw("<p class=\"crumbs\"><a href=\"/\">Log</a> › <a href=\"/orgs/")
        .segment(&org)
        .raw("\">")
        .text(&org_name)
        .raw("</a> › campaign</p>\n")
        .element("<h1>", &view.title, "</h1>\n")
        .element("<p class=\"lead\">", &view.purpose, "</p>\n")
        .raw("<p class=\"muted\">Campaign <code>")
        .text(&view.id)
        .raw("</code> in ")
        .text(&view.currency)
        .raw(", opened ")
        .text(&view.opened_at)
        .raw(" (entry ")
        .display(view.seq)
        .raw(").</p>\n");

    main.raw(
        "<section aria-labelledby=\"totals\"><h2 id=\"totals\">Money</h2>\n<dl class=\"totals\">",
    )
    .raw("<div><dt>Received</dt><dd id=\"total-received\">")
    .text(&money(t.received))
    .raw("</dd><dd class=\"muted\">")
    .text(&counted(t.donations, "donation", "donations"))
    .raw(", of which fees ")
    .text(&money(t.fees))
    .raw("</dd></div><div><dt>Paid out</dt><dd id=\"total-disbursed\">")
    .text(&money(t.disbursed))
    .raw("</dd><dd class=\"muted\">")
    .text(&counted(t.disbursements, "payout", "payouts"))
    .raw("</dd></div><div><dt>Held</dt><dd id=\"total-held\">")
    .text(&money(t.held))
    .raw("</dd><dd class=\"muted\">received net of fees, not paid out yet</dd></div></dl>\n")
    .raw("<h3>Confirmed by the beneficiaries</h3>\n<p id=\"acknowledged\">")
    .raw("Beneficiaries confirmed, with their own signature, payouts of <strong>")
    .text(&money(acks.acknowledged.amount))
    .raw("</strong> (")
    .text(&permille(acks.acknowledged.share_permille))
    .raw(" of everything paid out, ")
    .text(&counted(
        acks.acknowledged.disbursements,
        "payout",
        "payouts",
    ))
    .raw("); they disputed ")
    .text(&money(acks.disputed.amount))
    .raw(" (")
    .text(&permille(acks.disputed.share_permille))
    .raw(", ")
    .text(&counted(acks.disputed.disbursements, "payout", "payouts"))
    .raw(", saying ")
    .text(&money(acks.disputed.amount_received))
    .raw(" arrived). ")
    .text(&money(acks.unconfirmed))
    .raw(
        " is not confirmed either way. A confirmation is only as strong as the \
              provenance of the beneficiary's key, which the charity stated.</p>\n</section>\n",
    );

    main.raw("<section aria-labelledby=\"flows\"><h2 id=\"flows\">Where the money went</h2>\n")
        .raw("<figure class=\"sankey-figure\">\n")
        .append(sankey::render(&diagram(&view, &labels)))
        .raw(
            "<figcaption>From everything received (left) to each stated beneficiary, \
              overhead, refunds, payment fees and what is still held (right); each band is \
              as wide as its amount.</figcaption>\n</figure>\n</section>\n",
        );

    if !view.limits.is_none() {
        let spread = state
            .store
            .monthly_spread(&org, &id, caps::SPREAD_BARS)
            .await?;
        main.append(caps::limits_section(&view.currency, &view.limits, &spread));
    }

    main.raw("<section aria-labelledby=\"stated\"><h2 id=\"stated\">Stated beneficiaries</h2>\n")
        .raw(
            "<p>The charity stated these before paying them; the log refuses a payout to \
              anyone else.</p>\n<div class=\"scroll\"><table id=\"beneficiaries\"><thead><tr>\
              <th scope=\"col\">Beneficiary</th><th scope=\"col\">Kind</th>\
              <th scope=\"col\" class=\"num\">Paid</th><th scope=\"col\" class=\"num\">Payouts</th>\
              </tr></thead><tbody>\n",
        );
    for b in &view.beneficiaries {
        main.raw("<tr><th scope=\"row\">")
            .text(labels.get(&b.beneficiary).unwrap_or(&b.beneficiary))
            .raw(" <small class=\"muted\">")
            .text(&b.beneficiary)
            .raw("</small></th><td>")
            .text(&b.kind)
            .raw("</td><td class=\"num\">")
            .text(&money(b.disbursed))
            .raw("</td><td class=\"num\">")
            .display(b.disbursements)
            .raw("</td></tr>\n");
    }
    main.raw("</tbody></table></div>\n</section>\n");

    main.raw("<section aria-labelledby=\"latest\"><h2 id=\"latest\">Latest payouts</h2>\n");
    if latest.is_empty() {
        main.raw("<p>No payout yet.</p>\n");
    } else {
        main.raw(
            "<div class=\"scroll\"><table id=\"latest-disbursements\" class=\"stack\"><thead><tr>\
                  <th scope=\"col\">Payout</th><th scope=\"col\">To</th>\
                  <th scope=\"col\" class=\"num\">Amount</th><th scope=\"col\">When</th>\
                  <th scope=\"col\">Beneficiary says</th></tr></thead><tbody>\n",
        );
        for d in &latest {
            main.raw("<tr><th scope=\"row\"><code>")
                .text(&d.id)
                .raw("</code><br><small>")
                .text(&d.purpose)
                .raw("</small></th><td data-label=\"To\">")
                .text(labels.get(&d.beneficiary).unwrap_or(&d.beneficiary))
                .raw(" <small class=\"muted\">")
                .text(&d.beneficiary_kind)
                .raw("</small></td><td class=\"num\" data-label=\"Amount\">")
                .text(&money(d.amount))
                .raw("</td><td data-label=\"When\">");
            if let Some(occurred) = &d.occurred_at {
                main.text(occurred)
                    .raw("<br><small class=\"muted\">logged ");
            }
            main.text(&d.disbursed_at);
            if d.occurred_at.is_some() {
                main.raw("</small>");
            }
            main.raw("</td><td data-label=\"Beneficiary says\">");
            match &d.acknowledgement {
                Some(a) if a.status == "received" => {
                    main.raw("<span class=\"ok\">received</span>");
                }
                Some(a) => {
                    main.raw("<span class=\"bad\">disputed: ")
                        .text(&money(a.amount_received))
                        .raw(" arrived</span>");
                }
                None => {
                    main.raw("<span class=\"muted\">not confirmed</span>");
                }
            }
            main.raw("</td></tr>\n");
        }
        main.raw("</tbody></table></div>\n");
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"data\"><h2 id=\"data\">This campaign's data</h2><ul>")
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
        .raw("\">flows.csv</a> (which donation funded which payout)</li></ul>\n</section>\n");
    Ok(layout::page(&view.title, main, &[]))
}
