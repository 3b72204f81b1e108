DROP TABLE recovery_codes;
DROP TABLE totp_enrolments;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enabled_at;
