-- Schema version 16: the search's arms run in the session's process.
--
-- With one arm per office (version 15) the planner ran the union with two
-- parallel workers; starting them and passing the rows back cost about
-- 15 ms, more than reading the seven arms (8 ms for "Zöl" in all offices).
GRANT amtstresen_lookup TO CURRENT_USER;
ALTER FUNCTION amtstresen.search_case_months(text[], text[], integer, boolean) SET max_parallel_workers_per_gather = 0;
REVOKE amtstresen_lookup FROM CURRENT_USER;
