-- Schema version 8: the portal sync numbers a whole block of new cases at
-- once (issue 15: 2,000 deliveries/s).
--
-- next_ref_numbers moves the counter of a prefix and year on by n and
-- returns the last number now taken; the caller inserts the n cases
-- numbered last-n+1 … last in the same statement's transaction, so that a
-- block that fails gives all its numbers back (the counter row stays
-- locked until the transaction ends, as with next_ref_number). Only the
-- sync's service account may call it: a clerk's counter moves on by one
-- (next_ref_number), nobody else can leave a gap. n < 1 changes nothing
-- and returns NULL.
CREATE FUNCTION amtstresen.next_ref_numbers(prefix text, year integer, n integer) RETURNS integer
    LANGUAGE sql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        INSERT INTO amtstresen.ref_counters AS r (prefix, year, last) SELECT prefix, year, n WHERE n >= 1
        ON CONFLICT ON CONSTRAINT ref_counters_pkey DO UPDATE SET last = r.last + excluded.last
        RETURNING r.last;
    END;
REVOKE ALL ON FUNCTION amtstresen.next_ref_numbers(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.next_ref_numbers(text, integer, integer) TO amtstresen_sync;
