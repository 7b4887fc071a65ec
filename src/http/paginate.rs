use std::collections::HashSet;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::error::Result;

/// One page and the token of the next (`None` ends the stream). Page-number APIs put the next
/// page number in `next`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOf<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// The next page's token.
    pub next: Option<String>,
}

struct State<F> {
    fetch: F,
    token: Option<String>,
    seen_tokens: HashSet<String>,
    previous: Option<u64>,
    done: bool,
}

fn fingerprint<T: Serialize>(items: &[T]) -> u64 {
    let mut h = DefaultHasher::new();
    match serde_json::to_vec(items) {
        Ok(bytes) => bytes.hash(&mut h),
        Err(_) => items.len().hash(&mut h),
    }
    h.finish()
}

/// A lazy stream of pages from `fetch(token)`, starting at `first`.
///
/// Guards against the loops real APIs produce: it stops (with a warning) when a token repeats,
/// and when a non-empty page is identical to the one before it (older Adobe Commerce stores
/// repeat the last page forever) — that page is not yielded again. An error is yielded once and
/// ends the stream.
pub fn paginate<'a, T, F, Fut>(
    op: &'a str,
    first: Option<String>,
    fetch: F,
) -> BoxStream<'a, Result<PageOf<T>>>
where
    T: Serialize + Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<PageOf<T>>> + Send + 'a,
{
    let mut seen_tokens = HashSet::new();
    if let Some(t) = &first {
        seen_tokens.insert(t.clone());
    }
    let state = State {
        fetch,
        token: first,
        seen_tokens,
        previous: None,
        done: false,
    };
    futures::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        let page = match (st.fetch)(st.token.take()).await {
            Ok(p) => p,
            Err(e) => {
                st.done = true;
                return Some((Err(e), st));
            }
        };
        if !page.items.is_empty() {
            let fp = fingerprint(&page.items);
            if st.previous == Some(fp) {
                tracing::warn!(
                    op,
                    "page identical to the previous one; stopping pagination"
                );
                return None;
            }
            st.previous = Some(fp);
        }
        match &page.next {
            None => st.done = true,
            Some(next) if !st.seen_tokens.insert(next.clone()) => {
                tracing::warn!(op, "pagination token repeated; stopping pagination");
                st.done = true;
            }
            Some(next) => st.token = Some(next.clone()),
        }
        Some((Ok(page), st))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn follows_tokens_to_the_end() {
        let pages: Vec<PageOf<u32>> = paginate("t", None, |tok| async move {
            let n: u32 = tok.map(|t| t.parse().unwrap()).unwrap_or(0);
            Ok(PageOf {
                items: vec![n],
                next: (n < 3).then(|| (n + 1).to_string()),
            })
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(
            pages
                .iter()
                .flat_map(|p| p.items.clone())
                .collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
    }

    #[tokio::test]
    async fn stops_on_a_repeated_token() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let pages: Vec<PageOf<u32>> = paginate("t", None, move |_tok| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(PageOf {
                    items: vec![n],
                    next: Some("same".into()),
                })
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn stops_on_an_identical_page() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let pages: Vec<PageOf<&str>> = paginate("t", None, move |tok| {
            c.fetch_add(1, Ordering::SeqCst);
            let n: u32 = tok.map(|t| t.parse().unwrap()).unwrap_or(1);
            // Like Magento before 2.4: past the end, the last page comes back forever.
            let items = if n >= 2 {
                vec!["c", "d"]
            } else {
                vec!["a", "b"]
            };
            async move {
                Ok(PageOf {
                    items,
                    next: Some((n + 1).to_string()),
                })
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
