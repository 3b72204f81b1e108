//! Organizations (tenants).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::organizations;
use super::{DbConnection, UniqueRow as _};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub key_salt: Option<String>,
    pub keys_bootstrapped_at: Option<NaiveDateTime>,
    pub require_totp: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization<'a> {
    pub id: &'a str,
    pub slug: &'a str,
    pub name: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, org: &NewOrganization<'_>) -> QueryResult<Organization> {
    diesel::insert_into(organizations::table).values(org).execute(conn)?;
    find(conn, org.id)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Organization> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .unique_row(conn)?
        .ok_or(diesel::result::Error::NotFound)
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Organization>> {
    organizations::table
        .filter(organizations::slug.eq(slug))
        .select(Organization::as_select())
        .unique_row(conn)
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Organization>> {
    organizations::table
        .order(organizations::created_at.asc())
        .select(Organization::as_select())
        .load(conn)
}

/// A slug not yet taken: `base`, else `base-2`, `base-3`, …
pub fn free_slug(conn: &mut DbConnection, base: &str) -> QueryResult<String> {
    let mut candidate = base.to_owned();
    let mut n = 2;
    while find_by_slug(conn, &candidate)?.is_some() {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Sets whether the organization's System Administrators must use
/// two-factor authentication; returns the rule as it was.
pub fn set_require_totp(conn: &mut DbConnection, id: &str, require: bool) -> QueryResult<bool> {
    let before = find(conn, id)?.require_totp;
    diesel::update(organizations::table.find(id))
        .set(organizations::require_totp.eq(require))
        .execute(conn)?;
    Ok(before)
}
