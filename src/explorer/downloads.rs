//! `/downloads[?org=]`: the export bundle and its CSVs (the whole log, or one charity's
//! rows), with how to verify them offline.

use axum::extract::State;
use axum::response::Response;

use super::html::Html;
use super::{PageError, PageQuery, layout};
use crate::app::AppState;
use crate::export::ARCHIVE_NAME;
use pennytrail_bundle::tables::TABLES;

pub async fn downloads_page(
    State(state): State<AppState>,
    query: PageQuery,
) -> Result<Response, PageError> {
    query.only(&["org"])?;
    let org = match query.id("org")? {
        None => None,
        Some(org) if state.store.org_seq(&org).await?.is_some() => Some(org.into_string()),
        Some(org) => {
            return Err(PageError::not_found(format!(
                "no charity with the id {org:?} is registered"
            )));
        }
    };
    let checkpoint = state.store.latest_checkpoint().await?;

    let mut main = Html::new();
    main.raw("<h1>Downloads</h1>\n");
    main.raw("<section aria-labelledby=\"bundle\"><h2 id=\"bundle\">The whole log, verifiable offline</h2>\n")
        .raw("<p><a class=\"button\" id=\"bundle-link\" href=\"/v1/exports/")
        .raw(ARCHIVE_NAME)
        .raw("\" download>Download the export bundle (")
        .raw(ARCHIVE_NAME)
        .raw(")</a></p>\n")
        .raw("<p>The bundle holds every entry and every CSV below at the latest signed \
              checkpoint (now ")
        .display(checkpoint.size)
        .raw(" entries), with <code>checkpoint.txt</code> and a <code>datapackage.json</code> \
              listing each file's SHA-256. To verify it, get the log's key from a source you \
              trust (the charity's own site or a signed report — not only this server), then:</p>\n")
        .raw("<pre class=\"cmd\">tar xf ")
        .raw(ARCHIVE_NAME)
        .raw("\npennytrail verify FOLDER --key 'KEY' --min-size ")
        .display(checkpoint.size)
        .raw("</pre>\n<p>This server states its key as <code class=\"key\" id=\"server-key\">")
        .text(&state.log.verifier_key)
        .raw("</code>. The verifier recomputes every hash, the Merkle root, the checkpoint \
              signature, every derived CSV byte for byte and every money rule, and names the \
              file, row and field of anything wrong. <code>--min-size</code> stops an old \
              bundle passing for a current one.</p>\n</section>\n");

    main.raw("<section aria-labelledby=\"csvs\"><h2 id=\"csvs\">");
    match &org {
        Some(org) => {
            main.raw("CSV files of charity <code>").text(org).raw(
                "</code></h2>\n<p>Only this charity's rows (<a href=\"/downloads\">all \
                      charities</a>). A slice is for reading in a spreadsheet; to verify, use \
                      the whole bundle above or check single rows' entries against their \
                      receipts.</p>\n",
            );
        }
        None => {
            main.raw(
                "CSV files</h2>\n<p>The bundle's files one by one, streamed at the \
                      latest checkpoint; byte for byte the files of a bundle of the same \
                      size. Text cells starting with <code>=</code>, <code>+</code>, \
                      <code>-</code> or <code>@</code> get a leading <code>'</code> so a \
                      spreadsheet never runs them.</p>\n",
            );
        }
    }
    main.raw("<ul class=\"downloads\" id=\"csv-list\">\n");
    for table in &TABLES {
        let file = table.file;
        main.raw("<li><a href=\"/v1/exports/").text(file);
        if let Some(org) = &org {
            main.raw("?org=").segment(org);
        }
        main.raw("\" download>")
            .text(file)
            .raw("</a> — ")
            .text(table.about)
            .raw("</li>\n");
    }
    main.raw("</ul>\n</section>\n");
    Ok(layout::page("Downloads", main, &[]))
}
