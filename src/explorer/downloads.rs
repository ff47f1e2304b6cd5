//! `/downloads[?org=]`: the export bundle and its CSVs (the whole log, or one charity's
//! rows), with how to verify them offline.

use axum::extract::State;
use axum::response::Response;

use super::html::Html;
use super::i18n::{Arg, t, t_args};
use super::names::org_name;
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
            return Err(PageError::not_found(t_args(
                "error-no-charity",
                &[("org", Arg::Text(org.as_str()))],
            )));
        }
    };
    let checkpoint = state.store.latest_checkpoint().await?;

    let mut main = Html::new();
    main.raw("<h1>").t("downloads-title").raw("</h1>\n");
    main.raw("<section aria-labelledby=\"bundle\"><h2 id=\"bundle\">")
        .t("bundle-heading")
        .raw("</h2>\n<p><a class=\"button\" id=\"bundle-link\" href=\"/v1/exports/")
        .raw(ARCHIVE_NAME)
        .raw("\" download>")
        .t_args("bundle-download", &[("file", Arg::Text(ARCHIVE_NAME))])
        .raw("</a></p>\n<p>")
        .message("bundle-about", &[("size", checkpoint.size.into())])
        .raw("</p>\n<pre class=\"cmd\">tar xf ")
        .raw(ARCHIVE_NAME)
        .raw("\npennytrail verify FOLDER --key 'KEY' --min-size ")
        .display(checkpoint.size)
        .raw("</pre>\n<p>")
        .t("bundle-server-key")
        .raw(" <code class=\"key\" id=\"server-key\">")
        .text(&state.log.verifier_key)
        .raw("</code>. ")
        .message("bundle-checks", &[])
        .raw("</p>\n</section>\n");

    main.raw("<section aria-labelledby=\"csvs\"><h2 id=\"csvs\">");
    match &org {
        Some(org) => {
            let name = org_name(&state, org).await?;
            main.t_args("csv-heading-org", &[("org", Arg::Text(&name))])
                .raw("</h2>\n<p>")
                .message("csv-org-about", &[])
                .raw("</p>\n");
        }
        None => {
            main.t("csv-heading")
                .raw("</h2>\n<p>")
                .message("csv-about", &[])
                .raw("</p>\n");
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
            .t(&table_message(file))
            .raw("</li>\n");
    }
    main.raw("</ul>\n</section>\n");
    Ok(layout::page(&t("downloads-title"), main, &[]))
}

/// The catalogue message that says what `file` (`donations.csv`) holds.
pub fn table_message(file: &str) -> String {
    format!("table-{}", file.trim_end_matches(".csv"))
}
