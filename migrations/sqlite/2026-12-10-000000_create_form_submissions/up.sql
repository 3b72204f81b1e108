-- The one-time tokens of backoffice forms that show a secret (create,
-- rotate): a second submission of the same form (a reload of the page that
-- showed the secret, a double click) finds its token here and makes nothing
-- new. The token is a random value from the form, not a credential; the
-- secret itself is never stored. Rows are pruned after a week.
CREATE TABLE form_submissions (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    token TEXT NOT NULL,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, token)
);
CREATE INDEX form_submissions_created_at ON form_submissions (created_at);
