-- Schema version 7 is reserved for the intake receipts (issue 12, another branch);
-- this placeholder keeps the numbering without gaps until that branch is merged.
-- At merge, drop this file in favour of the real 0007.
SELECT 1;
