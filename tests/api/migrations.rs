//! Both migration folders stay in step, and migrations go down and up again.

use keyward::store::{self, Backend, migrations};

use crate::support::test_database;

use crate::support::Part;

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
