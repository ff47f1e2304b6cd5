//! The "published limits" section of a campaign page: the caps a campaign published on
//! payouts to each person, what the log does with them, what a cap cannot stop, and how
//! the payouts spread over people (a histogram of what each person received per month,
//! drawn as inline SVG with the same numbers in a table, so it reads without JavaScript
//! and to a screen reader).

use super::amount;
use super::html::Html;
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
    html.raw(
        "<section aria-labelledby=\"limits\"><h2 id=\"limits\">Published limits on payouts \
         to people</h2>\n<p>The charity published these limits when it opened the campaign. \
         The log refuses any payout to a person that would pass one, and every verifier \
         checks each payout again. Days and months are UTC, counted when the payout happened \
         as the charity states it, or else when it was logged.</p>\n<dl class=\"totals\" \
         id=\"caps\">",
    );
    let mut item = |label: &'static str, value: String| {
        html.raw("<div><dt>")
            .raw(label)
            .raw("</dt><dd>")
            .text(&value)
            .raw("</dd></div>");
    };
    if let Some(max) = limits.max_per_person_per_day {
        item("Per person per day", money(max));
    }
    if let Some(max) = limits.max_per_person_per_month {
        item("Per person per month", money(max));
    }
    if let Some(max) = limits.max_payouts_per_person_per_day {
        item(
            "Payouts per person per day",
            format!("{max} {}", if max == 1 { "payout" } else { "payouts" }),
        );
    }
    html.raw(
        "</dl>\n<p id=\"caps-cannot\"><strong>What a limit cannot stop.</strong> A limit \
         counts per beneficiary as the charity registered them and per campaign, not per \
         human being: one person holding two pseudonyms, or paid from two campaigns, can be \
         paid twice the limit. And the date a payout \
         happened is the charity's word; the log only refuses one dated after it was logged, \
         so a payout dated falsely into another day or month is counted there.</p>\n",
    );
    html.append(spread_figure(currency, spread));
    html.raw("</section>\n");
    html
}

/// The histogram of what each person received per month, or a sentence when nobody was
/// paid yet.
fn spread_figure(currency: &str, spread: &[SpreadBar]) -> Html {
    let mut html = Html::new();
    html.raw("<h3>How payouts spread over people</h3>\n");
    let total: u64 = spread.iter().map(|b| b.count).sum();
    let Some(tallest) = spread.iter().map(|b| b.count).max().filter(|t| *t > 0) else {
        html.raw("<p>No person has been paid from this campaign yet.</p>\n");
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
                .display(bar.count)
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
        .raw(
            "</text>\n</svg>\n<figcaption id=\"spread-caption\">What each person received \
              from this campaign in a month: ",
        )
        .display(total)
        .raw(
            " person-months, grouped into bars by amount (a person paid in three months \
              counts three times).</figcaption>\n</figure>\n<details><summary>The numbers\
              </summary><table id=\"spread\"><thead><tr><th scope=\"col\">Received in a \
              month</th><th scope=\"col\" class=\"num\">Person-months</th></tr></thead>\
              <tbody>\n",
        );
    for bar in spread {
        html.raw("<tr><td>")
            .text(&range(&money, bar))
            .raw("</td><td class=\"num\">")
            .display(bar.count)
            .raw("</td></tr>\n");
    }
    html.raw("</tbody></table></details>\n");
    html
}

/// `EUR 1.00 to EUR 1.99`: a bar's amounts, both ends included.
fn range(money: &impl Fn(i64) -> String, bar: &SpreadBar) -> String {
    format!("{} to {}", money(bar.from), money(bar.to - 1))
}

fn bar_label(money: &impl Fn(i64) -> String, bar: &SpreadBar) -> String {
    format!("{}: {} person-months", range(money, bar), bar.count)
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
            "Per person per month</dt><dd>EUR 25.00",
            "Payouts per person per day</dt><dd>1 payout<",
            "two pseudonyms",
            "dated falsely",
            "15 person-months",
            "EUR 20.00 to EUR 29.99</td><td class=\"num\">12",
            "height=\"140\"",
        ] {
            assert!(page.contains(says), "{says:?} missing from {page}");
        }
        assert!(!page.contains("Per person per day<"));
        let empty = limits_section("EUR", &limits, &[]).into_string();
        assert!(empty.contains("No person has been paid"));
    }
}
