//! "Showing 1–25 of 80, newest first" with previous and next links, for the keys list and
//! the audit log.

pub struct Pagination {
    /// The order, as "Showing 1–25 of 80, newest first" ends.
    pub order: &'static str,
    pub first: i64,
    pub last: i64,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pagination {
    /// Page `page` (from 1) of `total` items, `per_page` a page, of which
    /// this page shows `shown`; `url` gives another page's address.
    pub fn new(page: i64, per_page: i64, shown: usize, total: i64, url: impl Fn(i64) -> String) -> Self {
        // A page past the end shows nothing: 0, so no "Showing" line.
        let first = if shown == 0 { 0 } else { (page - 1) * per_page + 1 };
        Self {
            order: "newest first",
            first,
            last: ((page - 1) * per_page + shown as i64).max(first),
            total,
            previous: (page > 1).then(|| url(page - 1)),
            next: (page * per_page < total).then(|| url(page + 1)),
        }
    }

    /// The same pages, in another order than newest first.
    pub fn in_order(self, order: &'static str) -> Self {
        Self { order, ..self }
    }
}
