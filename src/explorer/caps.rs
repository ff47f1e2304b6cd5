//! The "published limits" section of a campaign page: the caps a campaign published on
//! payouts to each person, what the log does with them, what a cap cannot stop, and how
//! the payouts spread over people (a histogram of what each person received per month,
//! drawn as inline SVG with the same numbers in a table, so it reads without JavaScript
//! and to a screen reader).

use super::html::Html;
use super::i18n::{Arg, t_args};
use super::{amount, count};
use crate::read::campaigns::PayoutLimitsView;
use crate::store::SpreadBar;

/// Bars of the histogram.
pub const SPREAD_BARS: i64 = 10;
const WIDTH_PX: i64 = 480;
const CHART_PX: i64 = 140;
const TOP_PX: i64 = 24;
const BOTTOM_PX: i64 = 36;
const BAR_GAP_PX: i64 = 4;

/// The section, for a campaign that published at least one cap.
pub fn limits_section(currency: &str, limits: &PayoutLimitsView, spread: &[SpreadBar]) -> Html {
    let money = |minor: i64| amount(currency, minor);
    let mut html = Html::new();
    html.raw("<section aria-labelledby=\"limits\"><h2 id=\"limits\">")
        .t("caps-heading")
        .raw("</h2>\n<p>")
        .t("caps-about")
        .raw("</p>\n<dl class=\"totals\" id=\"caps\">");
    let mut item = |label: &str, value: String| {
        html.raw("<div><dt>")
            .t(label)
            .raw("</dt><dd>")
            .text(&value)
            .raw("</dd></div>");
    };
    if let Some(max) = limits.max_per_person_per_day {
        item("caps-per-day", money(max));
    }
    if let Some(max) = limits.max_per_person_per_month {
        item("caps-per-month", money(max));
    }
    if let Some(max) = limits.max_payouts_per_person_per_day {
        item(
            "caps-payouts-per-day",
            t_args("payouts-count", &[("count", max.into())]),
        );
    }
    html.raw("</dl>\n<p id=\"caps-cannot\">")
        .message("caps-cannot", &[])
        .raw("</p>\n");
    html.append(spread_figure(currency, spread));
    html.raw("</section>\n");
    html
}

/// The histogram of what each person received per month, or a sentence when nobody was
/// paid yet.
fn spread_figure(currency: &str, spread: &[SpreadBar]) -> Html {
    let mut html = Html::new();
    html.raw("<h3>").t("spread-heading").raw("</h3>\n");
    let total: u64 = spread.iter().map(|b| b.count).sum();
    let Some(tallest) = spread.iter().map(|b| b.count).max().filter(|t| *t > 0) else {
        html.raw("<p>").t("spread-nobody").raw("</p>\n");
        return html;
    };
    let money = |minor: i64| amount(currency, minor);
    let last = spread.last().map_or(0, |b| b.to);
    html.raw("<figure class=\"spread-figure\">\n<svg class=\"spread\" viewBox=\"0 0 ")
        .display(WIDTH_PX)
        .raw(" ")
        .display(TOP_PX + CHART_PX + BOTTOM_PX)
        .raw("\" role=\"img\" aria-labelledby=\"spread-caption\">\n");
    let slot = WIDTH_PX / spread.len() as i64;
    for (i, bar) in spread.iter().enumerate() {
        let height = (bar.count as i64 * CHART_PX) / tallest as i64;
        let height = if bar.count > 0 { height.max(2) } else { 0 };
        html.raw("<rect class=\"kind-person\" x=\"")
            .display(i as i64 * slot + BAR_GAP_PX / 2)
            .raw("\" y=\"")
            .display(TOP_PX + CHART_PX - height)
            .raw("\" width=\"")
            .display(slot - BAR_GAP_PX)
            .raw("\" height=\"")
            .display(height)
            .raw("\"><title>")
            .text(&bar_label(&money, bar))
            .raw("</title></rect>\n");
        if bar.count > 0 {
            html.raw("<text x=\"")
                .display(i as i64 * slot + slot / 2)
                .raw("\" y=\"")
                .display(TOP_PX + CHART_PX - height - 6)
                .raw("\" text-anchor=\"middle\">")
                .text(&count(bar.count as i64))
                .raw("</text>\n");
        }
    }
    html.raw("<text x=\"0\" y=\"")
        .display(TOP_PX + CHART_PX + 22)
        .raw("\">")
        .text(&money(0))
        .raw("</text><text x=\"")
        .display(WIDTH_PX)
        .raw("\" y=\"")
        .display(TOP_PX + CHART_PX + 22)
        .raw("\" text-anchor=\"end\">")
        .text(&money(last))
        .raw("</text>\n</svg>\n<figcaption id=\"spread-caption\">")
        .t_args("spread-caption", &[("count", total.into())])
        .raw("</figcaption>\n</figure>\n<details><summary>")
        .t("spread-numbers")
        .raw("</summary><table id=\"spread\"><thead><tr><th scope=\"col\">")
        .t("spread-col-received")
        .raw("</th><th scope=\"col\" class=\"num\">")
        .t("spread-col-count")
        .raw("</th></tr></thead><tbody>\n");
    for bar in spread {
        html.raw("<tr><td>")
            .text(&range(&money, bar))
            .raw("</td><td class=\"num\">")
            .text(&count(bar.count as i64))
            .raw("</td></tr>\n");
    }
    html.raw("</tbody></table></details>\n");
    html
}

/// `€1.00 to €1.99`: a bar's amounts, both ends included.
fn range(money: &impl Fn(i64) -> String, bar: &SpreadBar) -> String {
    t_args(
        "spread-range",
        &[
            ("from", Arg::Text(&money(bar.from))),
            ("to", Arg::Text(&money(bar.to - 1))),
        ],
    )
}

fn bar_label(money: &impl Fn(i64) -> String, bar: &SpreadBar) -> String {
    t_args(
        "spread-bar",
        &[
            ("range", Arg::Text(&range(money, bar))),
            ("count", bar.count.into()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_says_its_numbers_and_what_caps_cannot_stop() {
        let limits = PayoutLimitsView {
            max_per_person_per_day: None,
            max_per_person_per_month: Some(2500),
            max_payouts_per_person_per_day: Some(1),
        };
        let spread = [
            SpreadBar {
                from: 0,
                to: 1000,
                count: 3,
            },
            SpreadBar {
                from: 1000,
                to: 2000,
                count: 0,
            },
            SpreadBar {
                from: 2000,
                to: 3000,
                count: 12,
            },
        ];
        let page = limits_section("EUR", &limits, &spread).into_string();
        for says in [
            "Per person per month</dt><dd>€25.00",
            "Payouts per person per day</dt><dd>1 payout<",
            "two pseudonyms",
            "dated falsely",
            "15 person-months",
            "€20.00 to €29.99</td><td class=\"num\">12",
            "height=\"140\"",
        ] {
            assert!(page.contains(says), "{says:?} missing from {page}");
        }
        assert!(!page.contains("Per person per day<"));
        let empty = limits_section("EUR", &limits, &[]).into_string();
        assert!(empty.contains("No person has been paid"));
    }
}
