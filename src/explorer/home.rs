//! `/`: the log's identity (origin, size, latest signed checkpoint, verifier key) and the
//! charities that write to it.

use axum::extract::State;
use axum::response::Response;

use super::html::Html;
use super::{PageError, layout};
use crate::app::AppState;
use crate::read::MAX_LIST_PAGE;
use crate::read::orgs::org_view;

pub async fn home(State(state): State<AppState>) -> Result<Response, PageError> {
    let checkpoint = state.store.latest_checkpoint().await?;
    let rows = state.store.orgs(None, MAX_LIST_PAGE).await?;
    let mut orgs = Vec::with_capacity(rows.len());
    for (id, seq) in rows {
        orgs.push(org_view(&state.store, id, seq).await?);
    }

    let mut main = Html::new();
    main.raw("<h1>A public log of donations and payouts</h1>\n")
        .raw(
            "<p class=\"lead\">Charities record every donation they receive and every payout \
              they make in this append-only, signed log. Look up your donation to see where \
              it went — your browser checks the proof itself.</p>\n",
        );
    main.raw("<form class=\"lookup\" method=\"get\" action=\"/lookup\">\n")
        .raw("<label for=\"home-org\">Charity id</label><input id=\"home-org\" name=\"org\" required autocomplete=\"off\">\n")
        .raw("<label for=\"home-donation\">Donation id</label><input id=\"home-donation\" name=\"donation\" required autocomplete=\"off\">\n")
        .raw("<button type=\"submit\">Find my donation</button></form>\n");

    main.raw("<section aria-labelledby=\"charities\"><h2 id=\"charities\">Charities</h2>\n");
    if orgs.is_empty() {
        main.raw("<p>No charity is registered yet.</p>\n");
    } else {
        main.raw("<ul class=\"cards\" id=\"org-list\">\n");
        for org in &orgs {
            main.raw("<li><a href=\"/orgs/")
                .segment(&org.id)
                .raw("\"><strong class=\"org-name\">")
                .text(&org.name)
                .raw("</strong></a> <span class=\"muted\">")
                .text(&org.id)
                .raw(" · ")
                .text(&org.country)
                .raw("</span></li>\n");
        }
        main.raw("</ul>\n");
        if orgs.len() as u64 == MAX_LIST_PAGE {
            main.raw("<p>Showing the first ")
                .display(MAX_LIST_PAGE)
                .raw(" charities; <a href=\"/v1/orgs\">the API lists them all</a>.</p>\n");
        }
    }
    main.raw("</section>\n");

    main.raw(
        "<section aria-labelledby=\"log\"><h2 id=\"log\">This log</h2>\n<dl class=\"facts\">\n",
    )
    .raw("<dt>Origin (the log's name)</dt><dd><code id=\"log-origin\">")
    .text(&state.log.origin)
    .raw("</code></dd>\n<dt>Entries</dt><dd id=\"log-size\">")
    .display(checkpoint.size)
    .raw("</dd>\n<dt>Verifier key</dt><dd><code class=\"key\" id=\"log-key\">")
    .text(&state.log.verifier_key)
    .raw(
        "</code><br><small>A key this server shows proves nothing by itself: compare it \
              with the key the charity publishes on its own site or in its reports, then pin \
              it on the <a href=\"/lookup\">lookup page</a>.</small></dd>\n",
    )
    .raw("<dt>Latest signed checkpoint</dt><dd><pre class=\"note\" id=\"log-checkpoint\">")
    .text(&checkpoint.note)
    .raw("</pre></dd>\n</dl>\n</section>\n");
    Ok(layout::page("Public log", main, &[]))
}
