-- A blank resource filter used to be read as "everything"; it is now refused
-- wherever it comes from. Stored blanks keep what they granted, written out.
UPDATE key_scopes SET resource = '*' WHERE trim(resource) = '';
