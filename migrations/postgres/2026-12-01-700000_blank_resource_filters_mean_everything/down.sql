-- Nothing to undo: '*' is what the blank filters meant.
SELECT 1;
