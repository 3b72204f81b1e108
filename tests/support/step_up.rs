//! Ageing a session's strong check: the tests cannot wait the ten minutes
//! of `STEP_UP_WINDOW`, so they move the time the session last proved who
//! its user is back in the `sessions` table, as the passing time would.

use diesel::prelude::*;
use keyward::auth::session::{STEP_UP_WINDOW, STRONG_CHECK_AT};
use keyward::store::schema::sessions;

use super::TestApp;

impl TestApp {
    /// Moves the strong check of every session of `email` to just over
    /// the step-up window ago.
    pub async fn age_strong_checks(&self, email: &str) {
        let owned = email.to_owned();
        let aged = self
            .query(move |conn| {
                let user = keyward::store::users::find_by_email(conn, &owned)?.expect("the user exists");
                let rows: Vec<(String, String)> = sessions::table
                    .filter(sessions::user_id.eq(&user.id))
                    .select((sessions::id, sessions::state))
                    .load(conn)?;
                let then = keyward::store::now() - STEP_UP_WINDOW - chrono::TimeDelta::seconds(5);
                for (id, state) in &rows {
                    let mut state: std::collections::HashMap<String, String> =
                        serde_json::from_str(state).expect("session state is JSON");
                    state.insert(STRONG_CHECK_AT.to_owned(), then.and_utc().timestamp().to_string());
                    diesel::update(sessions::table.find(id))
                        .set(sessions::state.eq(serde_json::to_string(&state).expect("JSON")))
                        .execute(conn)?;
                }
                Ok(rows.len())
            })
            .await;
        assert!(aged > 0, "{email} has a session to age");
    }
}
