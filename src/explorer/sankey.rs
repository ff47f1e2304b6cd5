//! A flow (Sankey) diagram as inline SVG, drawn on the server so it shows without
//! JavaScript: one bar for everything a campaign received on the left, one band to each
//! place the money went on the right (beneficiaries, overhead, refunds, payment fees, and
//! what is still held), each band as thick as its share. Layout uses integer pixels
//! computed from integer minor units: no floating point near money, even here.

use super::html::{Html, truncate};

/// Width of the drawing. The SVG scales to the screen; this narrow a drawing keeps its
/// 15 px labels at about 11 px on a 390 px phone.
const WIDTH_PX: i64 = 480;
/// Height shared out among the bands in proportion to their amounts.
const CHART_PX: i64 = 320;
/// Thinnest band: a tiny payout stays visible.
const MIN_BAND_PX: i64 = 2;
/// Room a destination needs for its two label lines, however thin its band.
const LABEL_SLOT_PX: i64 = 40;
const GAP_PX: i64 = 8;
const BAR_PX: i64 = 14;
const TOP_PX: i64 = 30;
const RIGHT_X_PX: i64 = 190;
/// Longest label drawn in full (the table below the chart has every label in full).
const LABEL_CHARS_MAX: usize = 30;

/// Where money went, as the diagram groups it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    Organization,
    Supplier,
    Person,
    Overhead,
    Refunds,
    /// Payment processing fees (gross minus net).
    Fees,
    /// Received and not paid out yet.
    Held,
    Other,
}

impl FlowKind {
    /// The kind of a stated beneficiary (`beneficiary_kind` of the log).
    pub fn of_beneficiary(kind: &str) -> FlowKind {
        match kind {
            "organization" => FlowKind::Organization,
            "supplier" => FlowKind::Supplier,
            "person" => FlowKind::Person,
            "overhead" => FlowKind::Overhead,
            "refunds" => FlowKind::Refunds,
            _ => FlowKind::Other,
        }
    }

    /// CSS class (colour) of the kind.
    pub fn class(self) -> &'static str {
        match self {
            FlowKind::Organization => "kind-organization",
            FlowKind::Supplier => "kind-supplier",
            FlowKind::Person => "kind-person",
            FlowKind::Overhead => "kind-overhead",
            FlowKind::Refunds => "kind-refunds",
            FlowKind::Fees => "kind-fees",
            FlowKind::Held => "kind-held",
            FlowKind::Other => "kind-other",
        }
    }
}

/// One destination of the money.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Names the destination for scripts and tests (`data-key`): a beneficiary id, or
    /// `fees`, `held`, `others-person`….
    pub key: String,
    pub label: String,
    pub kind: FlowKind,
    pub amount_minor: i64,
    /// The amount as people read it (formatted in the campaign's currency).
    pub amount_text: String,
}

/// The diagram of one campaign.
#[derive(Debug, Clone)]
pub struct Diagram {
    pub source_label: String,
    pub source_amount_text: String,
    /// What the flows add up to (everything received).
    pub total_minor: i64,
    pub flows: Vec<Flow>,
}

/// Pixels of a band: proportional, at least [`MIN_BAND_PX`]. i128 so no amount up to
/// 2^53 overflows the product.
fn band_px(amount_minor: i64, total_minor: i64) -> i64 {
    if amount_minor <= 0 || total_minor <= 0 {
        return MIN_BAND_PX;
    }
    let px = i128::from(amount_minor) * i128::from(CHART_PX) / i128::from(total_minor);
    i64::try_from(px).unwrap_or(CHART_PX).max(MIN_BAND_PX)
}

/// The diagram as an `<svg>` element (or a sentence, when nothing was received yet).
pub fn render(diagram: &Diagram) -> Html {
    let mut svg = Html::new();
    if diagram.total_minor <= 0 || diagram.flows.is_empty() {
        svg.raw("<p class=\"sankey-empty\">No money received yet: nothing to draw.</p>\n");
        return svg;
    }
    let bands: Vec<i64> = diagram
        .flows
        .iter()
        .map(|f| band_px(f.amount_minor, diagram.total_minor))
        .collect();
    let slots: Vec<i64> = bands.iter().map(|b| (*b).max(LABEL_SLOT_PX)).collect();
    let count = i64::try_from(slots.len()).unwrap_or(i64::MAX);
    let right_height: i64 = slots.iter().sum::<i64>() + GAP_PX * (count - 1);
    let left_height: i64 = diagram
        .flows
        .iter()
        .zip(&bands)
        .filter(|(f, _)| f.amount_minor > 0)
        .map(|(_, b)| b)
        .sum();
    let height = TOP_PX + right_height.max(left_height) + GAP_PX;

    svg.raw("<svg class=\"sankey\" role=\"img\" aria-labelledby=\"sankey-title sankey-desc\" viewBox=\"0 0 ")
        .display(WIDTH_PX)
        .raw(" ")
        .display(height)
        .raw("\" width=\"")
        .display(WIDTH_PX)
        .raw("\" height=\"")
        .display(height)
        .raw("\" preserveAspectRatio=\"xMinYMin meet\">\n<title id=\"sankey-title\">")
        .t("flows-heading")
        .raw("</title>\n<desc id=\"sankey-desc\">")
        .text(&diagram.source_label)
        .raw(": ")
        .text(&diagram.source_amount_text)
        .raw(". ");
    for flow in &diagram.flows {
        svg.text(&flow.label)
            .raw(": ")
            .text(&flow.amount_text)
            .raw(". ");
    }
    svg.raw("</desc>\n")
        .raw("<text class=\"sankey-head\" x=\"0\" y=\"14\">")
        .text(&truncate(&diagram.source_label, LABEL_CHARS_MAX))
        .raw(" · ")
        .text(&diagram.source_amount_text)
        .raw("</text>\n");

    // Links first, so nodes and labels are drawn over them.
    svg.raw("<g class=\"links\">\n");
    let (mut left_y, mut right_y) = (TOP_PX, TOP_PX);
    for ((flow, band), slot) in diagram.flows.iter().zip(&bands).zip(&slots) {
        if flow.amount_minor > 0 {
            let (x0, x1) = (BAR_PX, RIGHT_X_PX);
            let xm = (x0 + x1) / 2;
            svg.raw("<path class=\"link ")
                .raw(flow.kind.class())
                .raw("\" data-key=\"")
                .text(&flow.key)
                .raw("\" d=\"M")
                .display(format!(
                    "{x0} {left_y} C{xm} {left_y} {xm} {right_y} {x1} {right_y}"
                ))
                .display(format!(
                    " L{x1} {} C{xm} {} {xm} {} {x0} {} Z",
                    right_y + band,
                    right_y + band,
                    left_y + band,
                    left_y + band
                ))
                .raw("\"><title>")
                .text(&flow.label)
                .raw(": ")
                .text(&flow.amount_text)
                .raw("</title></path>\n");
            left_y += band;
        }
        right_y += slot + GAP_PX;
    }
    svg.raw("</g>\n<g class=\"nodes\">\n")
        .raw("<rect class=\"node source\" data-key=\"received\" x=\"0\" y=\"")
        .display(TOP_PX)
        .raw("\" width=\"")
        .display(BAR_PX)
        .raw("\" height=\"")
        .display(left_height.max(MIN_BAND_PX))
        .raw("\"></rect>\n");
    let mut right_y = TOP_PX;
    for ((flow, band), slot) in diagram.flows.iter().zip(&bands).zip(&slots) {
        svg.raw("<g class=\"node-group\"><rect class=\"node ")
            .raw(flow.kind.class())
            .raw(if flow.amount_minor > 0 { "" } else { " empty" })
            .raw("\" data-key=\"")
            .text(&flow.key)
            .raw("\" x=\"")
            .display(RIGHT_X_PX)
            .raw("\" y=\"")
            .display(right_y)
            .raw("\" width=\"")
            .display(BAR_PX)
            .raw("\" height=\"")
            .display(*band)
            .raw("\"></rect><text class=\"label\" x=\"")
            .display(RIGHT_X_PX + BAR_PX + 8)
            .raw("\" y=\"")
            .display(right_y + 14)
            .raw("\">")
            .text(&truncate(&flow.label, LABEL_CHARS_MAX))
            .raw("</text><text class=\"amount\" x=\"")
            .display(RIGHT_X_PX + BAR_PX + 8)
            .raw("\" y=\"")
            .display(right_y + 33)
            .raw("\">")
            .text(&flow.amount_text)
            .raw("</text></g>\n");
        right_y += slot + GAP_PX;
    }
    svg.raw("</g>\n</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(key: &str, kind: FlowKind, amount_minor: i64) -> Flow {
        Flow {
            key: key.to_string(),
            label: format!("<{key}>"),
            kind,
            amount_minor,
            amount_text: format!("EUR {amount_minor}"),
        }
    }

    #[test]
    fn bands_are_proportional_and_never_vanish() {
        assert_eq!(band_px(50, 100), CHART_PX / 2);
        assert_eq!(band_px(1, 1_000_000), MIN_BAND_PX);
        assert_eq!(band_px(0, 100), MIN_BAND_PX);
        assert_eq!(
            band_px(9_007_199_254_740_991, 9_007_199_254_740_991),
            CHART_PX
        );
    }

    #[test]
    fn every_destination_is_drawn_with_escaped_labels() {
        let diagram = Diagram {
            source_label: "Donations <received>".into(),
            source_amount_text: "EUR 100".into(),
            total_minor: 100,
            flows: vec![
                flow("school", FlowKind::Organization, 60),
                flow("overhead", FlowKind::Overhead, 10),
                flow("fees", FlowKind::Fees, 5),
                flow("held", FlowKind::Held, 25),
                flow("unpaid", FlowKind::Person, 0),
            ],
        };
        let svg = render(&diagram).into_string();
        assert!(svg.starts_with("<svg class=\"sankey\""));
        assert_eq!(
            svg.matches("<path class=\"link").count(),
            4,
            "no link for 0"
        );
        assert_eq!(svg.matches("<g class=\"node-group\">").count(), 5);
        assert!(svg.contains("class=\"link kind-overhead\" data-key=\"overhead\""));
        assert!(svg.contains("class=\"node kind-person empty\" data-key=\"unpaid\""));
        assert!(svg.contains("&lt;school&gt;") && !svg.contains("<school>"));
        assert!(svg.contains("Donations &lt;received&gt;"));
    }

    #[test]
    fn nothing_received_draws_nothing() {
        let diagram = Diagram {
            source_label: "Donations".into(),
            source_amount_text: "EUR 0".into(),
            total_minor: 0,
            flows: vec![flow("held", FlowKind::Held, 0)],
        };
        assert!(render(&diagram).into_string().contains("nothing to draw"));
    }
}
