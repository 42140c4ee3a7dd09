-- Schema version 10: room on the pages of cases for changes in place.
--
-- A citizen's message (and a note) changes only updated_at of its case, a
-- column no index holds. With full pages (the sync fills them) each such
-- update wrote a new row version on another page and an entry in each of
-- the table's twenty indexes (0.25 ms a message in the sync benchmark);
-- with room left on the page PostgreSQL updates in place (HOT), without
-- touching the indexes. Pages written from now on keep 15 % free.
ALTER TABLE amtstresen.cases SET (fillfactor = 85);
