//! Diesel's view of the schema in `migrations/`. Written by hand because the
//! two backends' `print-schema` outputs differ (e.g. `BIGSERIAL` vs `INTEGER`);
//! a test checks it against both real databases.

diesel::table! {
    organizations (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        key_salt -> Nullable<Text>,
        keys_bootstrapped_at -> Nullable<Timestamp>,
        require_totp -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        org_id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        /// Sealed (encrypted and bound to the user), never plain text.
        totp_secret -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        last_sign_in_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        /// Set while an invitation is not yet accepted.
        invited_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One-time invitation and password-reset links, by the SHA-256 of their token.
    user_links (token_digest) {
        token_digest -> Text,
        org_id -> Text,
        user_id -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    setup_tokens (token_digest) {
        token_digest -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> BigInt,
        subject -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        enabled -> Bool,
        allow_query_key -> Bool,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        created_by_user_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Nullable<Text>,
        /// The name folded to lower case: what uniqueness is checked on.
        name_key -> Text,
    }
}

diesel::table! {
    key_change_counter (id) {
        id -> Integer,
        last_change -> BigInt,
    }
}

diesel::table! {
    key_changes (id) {
        id -> BigInt,
        api_key_id -> Text,
        org_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    key_secrets (id) {
        id -> Text,
        api_key_id -> Text,
        org_id -> Text,
        key_id -> Text,
        digest -> Nullable<Text>,
        created_at -> Timestamp,
        not_after -> Nullable<Timestamp>,
    }
}

diesel::table! {
    key_scopes (id) {
        id -> BigInt,
        api_key_id -> Text,
        action -> Text,
        resource -> Text,
        position -> Integer,
    }
}

diesel::table! {
    key_networks (id) {
        id -> BigInt,
        api_key_id -> Text,
        cidr -> Text,
        position -> Integer,
    }
}

diesel::table! {
    usage_buckets (api_key_id, hour, outcome) {
        api_key_id -> Text,
        org_id -> Text,
        hour -> Timestamp,
        outcome -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        org_id -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_label -> Text,
        action -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        target_label -> Nullable<Text>,
        details -> Text,
        client_ip -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    totp_enrolments (user_id) {
        user_id -> Text,
        id -> Text,
        /// Sealed like `users.totp_secret`.
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        digest -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> organizations (org_id));
diesel::joinable!(totp_enrolments -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_links -> users (user_id));
diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(key_secrets -> api_keys (api_key_id));
diesel::joinable!(key_scopes -> api_keys (api_key_id));
diesel::joinable!(key_networks -> api_keys (api_key_id));
diesel::joinable!(usage_buckets -> api_keys (api_key_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    users,
    sessions,
    setup_tokens,
    sign_in_failures,
    api_keys,
    key_secrets,
    key_scopes,
    key_networks,
    usage_buckets,
    audit_events,
    key_change_counter,
    key_changes,
    totp_enrolments,
    recovery_codes,
    user_links,
);

diesel::table! {
    form_submissions (org_id, token) {
        org_id -> Text,
        token -> Text,
        api_key_id -> Text,
        created_at -> Timestamp,
    }
}
