//! A request whose body was not read to its end closes its connection, and says so.
//!
//! Some answers come before the body is read, or while it is: 401 and 429 are decided
//! from the headers, 413 stops reading at the limit, 408 cancels a slow upload. hyper then
//! closes the connection once the answer is written (it cannot tell where the unread body
//! ends), but it does not tell the client: without `Connection: close` the client keeps
//! the connection for its next request and that request fails with a reset or an
//! incomplete message, through no fault of its own. So such an answer carries
//! `Connection: close`, and the client opens a fresh connection next time.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// Middleware: answers to requests whose body was left unread carry `Connection: close`.
pub async fn close_if_body_unread(request: Request, next: Next) -> Response {
    if !has_body(&request) {
        return next.run(request).await;
    }
    let read_to_end = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(Watched {
            inner: body,
            read_to_end: read_to_end.clone(),
        })
    });
    let mut response = next.run(request).await;
    if !read_to_end.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether the request announces a body: a non-zero `Content-Length`, or a transfer
/// encoding (chunked bodies have no length up front).
fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// The request body, noting when its end is reached.
struct Watched {
    inner: Body,
    read_to_end: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read_to_end.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
