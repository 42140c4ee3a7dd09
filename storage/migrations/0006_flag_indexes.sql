-- Schema version 6: one small partial index per flag.
--
-- The flag filter ("Anlage fehlt", "außerhalb des Kreises") used the
-- index of all flagged cases and tested each row for the one flag: an
-- office/status range without that flag was read to its end, 49 ms on a
-- million cases. These indexes hold only the cases with the flag;
-- storage/queue.go names the flag as a literal, so that the planner can
-- see the query implies the index's condition.
CREATE INDEX cases_flag_attachment_mismatch ON cases (office, status, received_at) WHERE instr(flags, ',attachment-mismatch,') > 0;
CREATE INDEX cases_flag_attachment_missing ON cases (office, status, received_at) WHERE instr(flags, ',attachment-missing,') > 0;
CREATE INDEX cases_flag_service_unknown ON cases (office, status, received_at) WHERE instr(flags, ',service-unknown,') > 0;
CREATE INDEX cases_flag_outside_district ON cases (office, status, received_at) WHERE instr(flags, ',outside-district,') > 0;
CREATE INDEX cases_flag_routing_unclear ON cases (office, status, received_at) WHERE instr(flags, ',routing-unclear,') > 0;
