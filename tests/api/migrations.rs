//! Both migration folders stay in step, and migrations go down and up again.

use keyward::store::{self, Backend, migrations};

use crate::support::test_database;

use crate::support::Part;

crate::sync_tests!(
    sqlite_names_that_differ_only_in_case_are_renamed_by_the_upgrade,
    sqlite_blank_resource_filters_stored_before_mean_everything_after_the_upgrade
);
crate::sync_tests!(
    needs Part::Postgres;
    postgres_names_that_differ_only_in_case_are_renamed_by_the_upgrade,
    postgres_blank_resource_filters_stored_before_mean_everything_after_the_upgrade
);

crate::sync_tests!(
    both_backends_have_the_same_migrations,
    sqlite_migrations_go_up_down_and_up_again
);
crate::sync_tests!(needs Part::Postgres; postgres_migrations_go_up_down_and_up_again);

fn folder_names(backend: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("migration folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn both_backends_have_the_same_migrations() {
    let sqlite = folder_names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, folder_names("postgres"));
}

fn up_down_up(backend: Backend) {
    let Some((url, _database)) = test_database(backend) else {
        return;
    };
    let mut conn = store::establish(&url).expect("connect");
    let applied = migrations::run_pending(&mut conn).expect("up");
    assert_eq!(applied.len(), folder_names("sqlite").len());
    let reverted = migrations::revert_all(&mut conn).expect("down");
    assert_eq!(reverted.len(), applied.len());
    let again = migrations::run_pending(&mut conn).expect("up again");
    assert_eq!(again, applied);
}

fn sqlite_migrations_go_up_down_and_up_again() {
    up_down_up(Backend::Sqlite);
}

fn postgres_migrations_go_up_down_and_up_again() {
    up_down_up(Backend::Postgres);
}

/// Applies the migrations before `name` only, as a database made by an
/// older release would have them.
fn migrate_up_to(conn: &mut store::DbConnection, backend: Backend, name: &str) {
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
    let source = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let pending = conn.pending_migrations(source).expect("pending migrations");
    for migration in pending {
        if migration.name().to_string().contains(name) {
            return;
        }
        conn.run_migration(&*migration).expect("migration");
    }
    panic!("no migration named {name}");
}

fn names_that_differ_only_in_case_are_renamed_by_the_upgrade(backend: Backend) {
    use diesel::prelude::*;
    use keyward::store::schema::api_keys;
    let Some((url, _database)) = test_database(backend) else {
        return;
    };
    let mut conn = store::establish(&url).expect("connect");
    migrate_up_to(&mut conn, backend, "fold_key_names");
    let at = |minute: u32| format!("2026-11-30 10:{minute:02}:00");
    let mut sql = String::from(
        "INSERT INTO organizations (id, slug, name, created_at) VALUES \
         ('org-a', 'acme', 'Acme', '2026-11-30 10:00:00'), ('org-b', 'globex', 'Globex', '2026-11-30 10:00:00');",
    );
    for (id, org, name, minute, deleted) in [
        ("k1", "org-a", "Sync", 1, false),
        ("k2", "org-a", "sync", 2, false),
        ("k3", "org-a", "SYNC", 3, false),
        ("k4", "org-a", "sYnC", 4, true),
        ("k5", "org-b", "sync", 5, false),
        ("k6", "org-a", "Übersicht", 6, false),
        ("k7", "org-a", "übersicht", 7, false),
    ] {
        let deleted_at = if deleted {
            format!("'{}'", at(minute))
        } else {
            "NULL".into()
        };
        sql.push_str(&format!(
            "INSERT INTO api_keys (id, org_id, name, enabled, allow_query_key, deleted_at, created_by, created_at, updated_at) \
             VALUES ('{id}', '{org}', '{name}', TRUE, FALSE, {deleted_at}, 'test', '{t}', '{t}');",
            t = at(minute)
        ));
    }
    diesel::connection::SimpleConnection::batch_execute(&mut conn, &sql).expect("keys of an older release");

    migrations::run_pending(&mut conn).expect("upgrade");

    let names: Vec<(String, String)> = api_keys::table
        .order(api_keys::id)
        .select((api_keys::id, api_keys::name))
        .load(&mut conn)
        .expect("names");
    let name_of = |id: &str| names.iter().find(|(i, _)| i == id).map(|(_, n)| n.as_str());
    assert_eq!(name_of("k1"), Some("Sync"), "the oldest keeps its name");
    assert_eq!(name_of("k2"), Some("sync (2)"));
    assert_eq!(name_of("k3"), Some("SYNC (3)"));
    assert_eq!(name_of("k4"), Some("sYnC"), "deleted keys keep theirs");
    assert_eq!(name_of("k5"), Some("sync"), "another organization's key keeps its");
    // The non-ASCII pair folds alike in Rust (SQLite's lower() would not
    // have seen them as one name): one of them is renamed.
    let umlauts = [name_of("k6"), name_of("k7")];
    assert!(
        umlauts.contains(&Some("Übersicht (2)")) || umlauts.contains(&Some("übersicht (2)")),
        "{umlauts:?}"
    );
}

fn sqlite_names_that_differ_only_in_case_are_renamed_by_the_upgrade() {
    names_that_differ_only_in_case_are_renamed_by_the_upgrade(Backend::Sqlite);
}

fn postgres_names_that_differ_only_in_case_are_renamed_by_the_upgrade() {
    names_that_differ_only_in_case_are_renamed_by_the_upgrade(Backend::Postgres);
}

fn blank_resource_filters_stored_before_mean_everything_after_the_upgrade(backend: Backend) {
    use diesel::prelude::*;
    use keyward::store::schema::key_scopes;
    let Some((url, _database)) = test_database(backend) else {
        return;
    };
    let mut conn = store::establish(&url).expect("connect");
    migrate_up_to(&mut conn, backend, "blank_resource_filters_mean_everything");
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "INSERT INTO organizations (id, slug, name, created_at) VALUES ('org-a', 'acme', 'Acme', '2026-11-30 10:00:00'); \
         INSERT INTO api_keys (id, org_id, name, name_key, enabled, allow_query_key, created_by, created_at, updated_at) \
         VALUES ('k1', 'org-a', 'Sync', 'sync', TRUE, FALSE, 'test', '2026-11-30 10:00:00', '2026-11-30 10:00:00'); \
         INSERT INTO key_scopes (api_key_id, action, resource, position) VALUES \
         ('k1', 'read', '', 0), ('k1', 'write', 'flights', 1);",
    )
    .expect("scopes of an older release");

    migrations::run_pending(&mut conn).expect("upgrade");

    let scopes: Vec<(String, String)> = key_scopes::table
        .order(key_scopes::position)
        .select((key_scopes::action, key_scopes::resource))
        .load(&mut conn)
        .expect("scopes");
    assert_eq!(
        scopes,
        [("read".into(), "*".into()), ("write".into(), "flights".into())],
        "a blank filter keeps what it granted, and now loads"
    );
    for (action, resource) in scopes {
        keyward::domain::scope::Scope::parse_pair(&format!("{action}:{resource}")).expect("loads");
    }
}

fn sqlite_blank_resource_filters_stored_before_mean_everything_after_the_upgrade() {
    blank_resource_filters_stored_before_mean_everything_after_the_upgrade(Backend::Sqlite);
}

fn postgres_blank_resource_filters_stored_before_mean_everything_after_the_upgrade() {
    blank_resource_filters_stored_before_mean_everything_after_the_upgrade(Backend::Postgres);
}
