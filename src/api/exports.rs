//! `GET /v1/exports/{file}`: the bundle's CSVs streamed over a slice of the log (by seq
//! range, org or campaign) in constant memory, and `GET /v1/exports/bundle.tar`: the
//! whole bundle at the latest checkpoint as one archive, ready for `pennytrail verify`.
//!
//! Exports run outside the request timeout (a large log takes longer than 30 s to
//! stream) but at most [`MAX_CONCURRENT_EXPORTS`] at a time.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::error::{ApiError, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::openapi::{PROBLEM_JSON, problem};
use crate::app::AppState;
use crate::export::select::{CAMPAIGN_FILES, STREAM_PAGE, SelectError, Selection, stream_csv};
use crate::export::{ARCHIVE_NAME, export_checkpoint, export_store};
use crate::input::{FileName, Id, PathParams};
use crate::log::policy::Policy;
use crate::store::Store;
use pennytrail_bundle::default_name;
use pennytrail_bundle::tables::{TABLES, table};

/// Exports (streams and archive builds) running at once; more are answered 503 with
/// `Retry-After`, so downloads cannot starve the log of database connections.
pub const MAX_CONCURRENT_EXPORTS: usize = 4;

/// Chunks buffered between the store reader and a slow client.
const STREAM_CHANNEL_CHUNKS: usize = 4;

/// What exports share: the concurrency limit and the latest archive built.
pub struct Exports {
    permits: Arc<Semaphore>,
    /// Where archives are built; removed with the process.
    dir: tempfile::TempDir,
    /// The latest archive: its log size and file. Held while one is built, so
    /// concurrent downloads wait for one build instead of starting several.
    latest: Arc<Mutex<Option<(u64, PathBuf)>>>,
}

impl Exports {
    pub fn new() -> std::io::Result<Exports> {
        Ok(Exports {
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_EXPORTS)),
            dir: tempfile::Builder::new()
                .prefix("pennytrail-exports-")
                .tempdir()?,
            latest: Arc::default(),
        })
    }

    fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!(
                    "{MAX_CONCURRENT_EXPORTS} exports are already running; retry in a few seconds"
                ),
            );
            error.retry_after_s = Some(5);
            error
        })
    }
}

/// `GET /v1/exports/{file}`.
#[utoipa::path(
    get,
    path = "/v1/exports/{file}",
    tag = "exports",
    summary = "A bundle CSV, or the whole bundle as a tar archive",
    description = "One of the export bundle's CSV files (`entries.csv`, `orgs.csv`, \
        `beneficiaries.csv`, `campaigns.csv`, `stated_beneficiaries.csv`, `donations.csv`, \
        `disbursements.csv`, `flows.csv`, `corrections.csv`), streamed: the rows of the \
        entries with seq in [`from`, `to`), of `org` and `campaign` when given. Without \
        filters the file is byte for byte the bundle's file at the same size. \
        `campaigns.csv` lists the campaigns opened in the range with their totals at `to`. \
        The `Pennytrail-Log-Size` header says which size the rows were read at. \
        `bundle.tar` is the whole bundle at the latest checkpoint (a folder of the files \
        above plus `checkpoint.txt`, `datapackage.json` and `README.txt`); check it with \
        `pennytrail verify FOLDER --key VKEY`. A stream that fails midway is cut off \
        without its final chunk, so a truncated download never looks complete.",
    params(
        ("file" = crate::formats::FileName, Path, description = "A bundle CSV name, or `bundle.tar` (which \
            takes none of the query parameters below)."),
        ("from" = Option<u64>, Query, description = "First seq (default 0)."),
        ("to" = Option<u64>, Query,
            description = "End seq, exclusive (default and at most: the latest checkpoint's size)."),
        ("org" = Option<crate::formats::Id>, Query,
            description = "Only this org's rows."),
        ("campaign" = Option<crate::formats::Id>, Query,
            description = "Only this campaign's rows (needs `org`; not for orgs.csv, \
                beneficiaries.csv or corrections.csv)."),
    ),
    responses(
        (status = 200, description = "The CSV (LF line endings, no BOM, header first), or for \
            `bundle.tar` a tar archive.",
            content((String = "text/csv; charset=utf-8"), (String = "application/x-tar")),
            headers(("Pennytrail-Log-Size" = u64,
                description = "The log size (a signed checkpoint's) the file was read at."))),
        (status = 400, response = problem::BadQuery),
        (status = 404, description = "No bundle file has this name.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, description = "Too many exports are running (see `Retry-After`), or \
            the log is temporarily unavailable.", body = Problem, content_type = PROBLEM_JSON,
            headers(("Retry-After" = u64, description = "Seconds to wait, when too many \
                exports are running."))),
    ),
)]
pub async fn get_export(
    State(state): State<AppState>,
    PathParams(file, _): ApiPath<FileName>,
    query: ApiQuery,
) -> Result<Response, ApiError> {
    let file = file.as_str();
    if file == ARCHIVE_NAME {
        if let Some(name) = query.params.keys().next() {
            return Err(ApiError::bad_parameter(
                name,
                format!(
                    "{ARCHIVE_NAME} is the whole bundle at the latest checkpoint: it takes no \
                     query parameters (got {name})"
                ),
            ));
        }
        return archive(state).await;
    }
    let Some(file) = table(file).map(|t| t.file) else {
        let names: Vec<&str> = TABLES.iter().map(|t| t.file).collect();
        return Err(ApiError::not_found(format!(
            "no export is called {file:?}; there are {} and {ARCHIVE_NAME}",
            names.join(", ")
        ))
        .with_field("file"));
    };
    query.only(&["from", "to", "org", "campaign"])?;
    let size = state.store.latest_checkpoint().await?.size;
    let from = query.u64("from")?.unwrap_or(0);
    let to = query.u64("to")?.unwrap_or(size);
    if to > size {
        return Err(ApiError::bad_parameter(
            "to",
            format!("to {to} is past the latest signed checkpoint's size {size}"),
        ));
    }
    if from > to {
        return Err(ApiError::bad_parameter(
            "from",
            format!("from {from} is after to {to}"),
        ));
    }
    let (org, campaign) = (query.id("org")?, query.id("campaign")?);
    if let Some(org) = &org {
        crate::read::orgs::known(&state.store, org).await?;
    }
    if campaign.is_some() {
        if org.is_none() {
            return Err(ApiError::bad_parameter(
                "campaign",
                "campaign ids are per org: give org as well",
            ));
        }
        if !CAMPAIGN_FILES.contains(&file) {
            return Err(ApiError::bad_parameter(
                "campaign",
                format!("{file} has no campaign column to filter on"),
            ));
        }
    }
    let permit = state.exports.permit()?;
    let selection = Selection {
        file,
        from,
        to,
        org: org.map(Id::into_string),
        campaign: campaign.map(Id::into_string),
        page: STREAM_PAGE,
    };
    let (tx, rx) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(STREAM_CHANNEL_CHUNKS);
    let store = state.store.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let result = stream_csv(&store, &selection, |chunk| {
            let tx = tx.clone();
            async move { tx.send(Ok(Bytes::from(chunk))).await.is_ok() }
        })
        .await;
        match result {
            Ok(_) | Err(SelectError::Closed) => {}
            Err(error) => {
                tracing::error!(%error, file = selection.file, "export stream failed");
                // Ends the response with an error: the client sees a broken transfer.
                let _ = tx.send(Err(std::io::Error::other(error.to_string()))).await;
            }
        }
    });
    let body = Body::from_stream(tokio_stream_from(rx));
    Ok(download(body, "text/csv; charset=utf-8", file, to))
}

/// A file download: its type, name, and the log size it was read at.
fn download(body: Body, content_type: &'static str, file_name: &str, log_size: u64) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert("pennytrail-log-size", HeaderValue::from(log_size));
    response
}

/// A receiver as a stream of body chunks.
fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// The archive of the bundle at the latest checkpoint, built once per size.
async fn archive(state: AppState) -> Result<Response, ApiError> {
    // A witnessed log's bundle is cut at its witnessed checkpoint: none yet is a 503 with
    // Retry-After, as at /v1/checkpoint?witnessed=true.
    if state.witness_policy.is_some() {
        super::log_routes::witnessed_checkpoint(&state, 0).await?;
    }
    let policy = state.witness_policy.clone();
    let permit = state.exports.permit()?;
    let store = state.store.clone();
    let latest = state.exports.latest.clone();
    let dir = state.exports.dir.path().to_path_buf();
    // Built in its own task: a client giving up does not waste a half-built archive.
    let built = tokio::spawn(async move {
        let _permit = permit;
        build_archive(&store, policy.as_deref(), &latest, &dir).await
    })
    .await
    .map_err(|e| ApiError::unavailable("archive task", &e))?
    .map_err(|e| ApiError::unavailable("building the export archive", &format!("{e:#}")))?;
    let (size, path) = built;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::unavailable("opening the export archive", &e))?;
    let length = file
        .metadata()
        .await
        .map_err(|e| ApiError::unavailable("reading the export archive", &e))?
        .len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(ARCHIVE_NAME)
        .to_string();
    let mut response = download(body, "application/x-tar", &name, size);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// Returns the archive of the latest checkpoint (the latest witnessed one, with a witness
/// policy), building it unless it is the one already built.
async fn build_archive(
    store: &Store,
    witness_policy: Option<&Policy>,
    latest: &Mutex<Option<(u64, PathBuf)>>,
    dir: &std::path::Path,
) -> anyhow::Result<(u64, PathBuf)> {
    let mut latest = latest.lock().await;
    let size = export_checkpoint(store, witness_policy).await?.size;
    if let Some((built, path)) = latest.as_ref()
        && *built == size
    {
        return Ok((size, path.clone()));
    }
    let meta = store
        .log_meta()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the store holds no log"))?;
    let name = default_name(&meta.origin, size);
    let folder = dir.join(&name);
    if folder.exists() {
        std::fs::remove_dir_all(&folder)?;
    }
    // The exporter reads the latest checkpoint again: a write in between makes a larger,
    // equally valid bundle.
    let (folder, summary) = export_store(store, witness_policy, Some(folder), |_, _| {}).await?;
    let size = summary.entries;
    let name = default_name(&meta.origin, size);
    let tar_path = dir.join(format!("{name}.tar"));
    let folder_for_tar = folder.clone();
    let tar_for_task = tar_path.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let partial = tar_for_task.with_extension("tar.partial");
        let mut builder = tar::Builder::new(std::fs::File::create(&partial)?);
        builder.mode(tar::HeaderMode::Deterministic);
        builder.append_dir_all(&name, &folder_for_tar)?;
        builder.into_inner()?.sync_all()?;
        std::fs::rename(&partial, &tar_for_task)?;
        std::fs::remove_dir_all(&folder_for_tar)?;
        Ok(())
    })
    .await??;
    if let Some((_, old)) = latest.replace((size, tar_path.clone()))
        && old != tar_path
    {
        // A download still reading the old archive keeps its open file.
        let _ = std::fs::remove_file(old);
    }
    Ok((size, tar_path))
}
