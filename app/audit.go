package app

// Audit actions: the Action of an AuditEntry. Every adapter, the access
// checks (Scoped) and the screens write these and nothing else, so that a
// filter, the CSV labels and the case history mean the same thing. A
// refused access is the attempted action with DeniedSuffix
// ("case.read.denied").
const (
	ActionCaseCreate              = "case.create"               // a case was created (detail "channel=…")
	ActionCaseRead                = "case.read"                 // a person opened a case (Scoped.ReadCase)
	ActionCaseClaim               = "case.claim"                // the clerk took the case
	ActionCaseRelease             = "case.release"              // the clerk gave it back
	ActionCaseStatus              = "case.status"               // status change, detail "from->to"
	ActionCaseForward             = "case.forward"              // to another office, detail "from->to"
	ActionCaseNote                = "case.note"                 // a clerk's note
	ActionCaseMessage             = "case.message"              // a citizen's message through the portal
	ActionCaseWithdrawal          = "case.withdrawal"           // a clerk settled an unsigned withdrawal
	ActionCaseWithdrawalRequested = "case.withdrawal.requested" // the portal asked for one (format 1)
	ActionCasePrint               = "case.print"                // confirmation printed or saved, detail "kind:where"
	ActionCaseExport              = "case.export"               // in an Art. 15 answer
	ActionCasePurge               = "case.purge"                // deleted after its retention period
	ActionCaseTell                = "case.tell"                 // a message to the citizen queued, detail "status/state"
	ActionCaseResend              = "case.resend"               // an undelivered message queued again
	ActionCaseQuittung            = "case.quittung"             // the portal's receipt for a message, detail the result
	ActionCasePrinted             = "case.printed"              // a letter of the print queue printed

	ActionAppointmentApply      = "appointment.apply"      // a booking taken in or changed
	ActionAppointmentStale      = "appointment.stale"      // an older version of a booking, ignored
	ActionAppointmentAttendance = "appointment.attendance" // checked in or no-show (detail "override" when a lead overrode the day rules)
	ActionAppointmentRead       = "appointment.read"       // only refused (appointment.read.denied)
	ActionAppointmentPrint      = "appointment.print"      // Terminbestätigung printed or saved
	ActionAppointmentExport     = "appointment.export"     // in an Art. 15 answer
	ActionAppointmentPurge      = "appointment.purge"      // deleted after its retention period

	ActionAttachmentRead = "attachment.read" // only refused (attachment.read.denied)
	ActionPersonExport   = "person.export"   // an Art. 15 answer (counts only)
	ActionAuditExport    = "audit.export"    // the audit log exported as CSV
	ActionAuditPurge     = "audit.purge"     // audit entries past their period deleted
	ActionRoleSet        = "role.set"        // a role given (reference: the account)
	ActionRoleRemove     = "role.remove"     // a role taken away
	// ActionOfficeKeyCreate: an office's signing key for status messages
	// was created (reference: the office; detail: where it is kept, never
	// the key).
	ActionOfficeKeyCreate = "officekey.create"
	ActionReviewAdd       = "review.add"     // a mail put on the review list
	ActionReviewResolve   = "review.resolve" // a review mail handled
	ActionReviewPurge     = "review.purge"   // handled review mails past their period deleted
	ActionSyncState       = "sync.state"     // a sync run recorded
)

// DeniedSuffix marks a refused access: ActionCaseRead + DeniedSuffix.
const DeniedSuffix = ".denied"
