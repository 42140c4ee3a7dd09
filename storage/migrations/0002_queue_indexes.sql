-- Schema version 2: indexes for the queue.
--
-- The queue asks for one page (50–100 rows) of cases filtered by office and
-- status sets, sorted by one column. storage/queue.go runs one index range
-- per (office, status) pair and lets SQLite merge the ordered ranges, so
-- every index below starts with the columns compared for equality and ends
-- with the sort column. The rowid (cases.id) is the implicit last column of
-- every index and breaks ties.

-- Version 1 had only this one; the new cases_by_received replaces it.
DROP INDEX cases_queue;

-- Default view: newest first (also "status" sort, whose arms are constant).
CREATE INDEX cases_by_received ON cases (office, status, received_at);
CREATE INDEX cases_by_ref ON cases (office, status, ref);
-- Sort by service, and the service filter with any date order.
CREATE INDEX cases_by_service ON cases (office, status, service, received_at);
CREATE INDEX cases_by_applicant ON cases (office, status, applicant_sort);
-- "Nur meine" and "nicht übernommen" (assignee = '').
CREATE INDEX cases_by_assignee ON cases (assignee, office, status, received_at);
-- Cases with flags are few: a partial index keeps the flag filter small
-- (the test for one flag reads only flagged rows).
CREATE INDEX cases_flagged ON cases (office, status, received_at) WHERE flags <> '';
