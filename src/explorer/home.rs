//! `/`: the log's identity (origin, size, latest signed checkpoint, verifier key) and the
//! charities that write to it, and the form that finds a donation (the charity picked by
//! name from a list).

use axum::extract::State;
use axum::response::Response;

use super::html::Html;
use super::{PageError, count, layout};
use crate::app::AppState;
use crate::read::MAX_LIST_PAGE;
use crate::read::orgs::{OrgView, org_view};

/// Up to this many charities, the form offers a list to choose from; past it, a field
/// that suggests charities by name as the visitor types.
const MAX_CHARITIES_LISTED: usize = 30;

/// The charities a visitor can choose from, by name (at most [`MAX_LIST_PAGE`]).
pub async fn charities(state: &AppState) -> Result<Vec<OrgView>, PageError> {
    let rows = state.store.orgs(None, MAX_LIST_PAGE).await?;
    let mut orgs = Vec::with_capacity(rows.len());
    for (id, seq) in rows {
        orgs.push(org_view(&state.store, id, seq).await?);
    }
    orgs.sort_by_key(|org| org.name.to_lowercase());
    Ok(orgs)
}

/// The charity field of a form: a list of names (the id is what is sent), or with many
/// charities a text field suggesting names and ids. `chosen` is preselected.
pub fn charity_field(input_id: &'static str, orgs: &[OrgView], chosen: &str) -> Html {
    let mut html = Html::new();
    if orgs.len() <= MAX_CHARITIES_LISTED {
        html.raw("<label for=\"")
            .raw(input_id)
            .raw("\">")
            .t("form-charity")
            .raw("</label><select id=\"")
            .raw(input_id)
            .raw("\" name=\"org\" required><option value=\"\">")
            .t("form-charity-choose")
            .raw("</option>");
        for org in orgs {
            html.raw("<option value=\"").text(&org.id).raw("\"");
            if org.id == chosen {
                html.raw(" selected");
            }
            html.raw(">").text(&org.name).raw("</option>");
        }
        html.raw("</select>\n");
    } else {
        html.raw("<label for=\"")
            .raw(input_id)
            .raw("\">")
            .t("form-charity-search")
            .raw("</label><input id=\"")
            .raw(input_id)
            .raw("\" name=\"org\" required autocomplete=\"off\" list=\"")
            .raw(input_id)
            .raw("-names\" value=\"")
            .text(chosen)
            .raw("\"><datalist id=\"")
            .raw(input_id)
            .raw("-names\">");
        for org in orgs {
            html.raw("<option value=\"")
                .text(&org.id)
                .raw("\" label=\"")
                .text(&org.name)
                .raw("\"></option>");
        }
        html.raw("</datalist>\n");
    }
    html
}

pub async fn home(State(state): State<AppState>) -> Result<Response, PageError> {
    let checkpoint = state.store.latest_checkpoint().await?;
    let orgs = charities(&state).await?;

    let mut main = Html::new();
    main.raw("<h1>")
        .t("home-heading")
        .raw("</h1>\n<p class=\"lead\">")
        .t("home-lead")
        .raw("</p>\n");
    main.raw("<form class=\"lookup\" method=\"get\" action=\"/lookup\">\n")
        .append(charity_field("home-org", &orgs, ""))
        .raw("<label for=\"home-donation\">")
        .t("form-donation")
        .raw("</label><input id=\"home-donation\" name=\"donation\" required autocomplete=\"off\">\n")
        .raw("<button type=\"submit\">")
        .t("home-find")
        .raw("</button></form>\n");

    main.raw("<section aria-labelledby=\"charities\"><h2 id=\"charities\">")
        .t("home-charities")
        .raw("</h2>\n");
    if orgs.is_empty() {
        main.raw("<p>").t("home-no-charity").raw("</p>\n");
    } else {
        main.raw("<ul class=\"cards\" id=\"org-list\">\n");
        for org in &orgs {
            main.raw("<li><a href=\"/orgs/")
                .segment(&org.id)
                .raw("\"><strong class=\"org-name\">")
                .text(&org.name)
                .raw("</strong></a> <small class=\"muted\">")
                .text(&org.country)
                .raw(" · <code>")
                .text(&org.id)
                .raw("</code></small></li>\n");
        }
        main.raw("</ul>\n");
        if orgs.len() as u64 == MAX_LIST_PAGE {
            main.raw("<p>")
                .message("home-first-charities", &[("count", MAX_LIST_PAGE.into())])
                .raw("</p>\n");
        }
    }
    main.raw("</section>\n");

    main.raw("<section aria-labelledby=\"log\"><h2 id=\"log\">")
        .t("home-this-log")
        .raw("</h2>\n<dl class=\"facts\">\n<dt>")
        .t("home-origin")
        .raw("</dt><dd><code id=\"log-origin\">")
        .text(&state.log.origin)
        .raw("</code></dd>\n<dt>")
        .t("home-entries")
        .raw("</dt><dd id=\"log-size\">")
        .text(&count(checkpoint.size as i64))
        .raw("</dd>\n<dt>")
        .t("home-key")
        .raw("</dt><dd><code class=\"key\" id=\"log-key\">")
        .text(&state.log.verifier_key)
        .raw("</code><br><small>")
        .message("home-key-note", &[])
        .raw("</small></dd>\n<dt>")
        .t("home-checkpoint")
        .raw("</dt><dd><pre class=\"note\" id=\"log-checkpoint\">")
        .text(&checkpoint.note)
        .raw("</pre></dd>\n</dl>\n</section>\n");
    Ok(layout::page(&super::i18n::t("home-title"), main, &[]))
}
