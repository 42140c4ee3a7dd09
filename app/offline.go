package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Offline at the counter: when the shared store (PostgreSQL) cannot be
// reached, a walk-in application is kept on this PC (OfflineOutbox, a
// local SQLite file) under a provisional reference printed on the
// citizen's receipt, and written to the shared store when it is back
// (ReplayOffline). The case's idempotency key makes the replay safe to
// repeat: nothing is lost, nothing written twice.

// EUNAVAILABLE: the database server cannot be reached (network, server
// down or restarting); nothing was changed. A counter may keep a walk-in
// application in its OfflineOutbox meanwhile.
const EUNAVAILABLE = "unavailable"

// Unavailable reports whether err says the server is unreachable.
func Unavailable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == EUNAVAILABLE
}

// OfflineState is where a kept application stands.
type OfflineState string

const (
	OfflineWaiting  OfflineState = "waiting"  // not yet written to the shared store
	OfflineWritten  OfflineState = "written"  // written; FinalRef is its reference
	OfflineConflict OfflineState = "conflict" // the shared store refused it; Message says why
)

// OfflineEntry is a walk-in application kept on this PC.
type OfflineEntry struct {
	Key            string // the case's idempotency key
	ProvisionalRef string // on the receipt ("ZEL-2026-V-3F9A1C")
	Case           *NewCase
	Office         OfficeKey
	Clerk          string
	HeldAt         time.Time
	State          OfflineState
	FinalRef       string    // OfflineWritten
	Message        string    // OfflineConflict: German, for the clerk
	DoneAt         time.Time // written or refused
	// Tried is set just before the replay sends the entry (TryEntry): it
	// may be on the server then, and the clerk can no longer discard it.
	Tried bool
}

// OfflineOutbox keeps walk-in applications while the shared store is
// unreachable. ui/cli hands it to the window (ui.Options.Offline).
type OfflineOutbox interface {
	// Hold keeps nc (its IdempotencyKey set) and returns the entry with
	// its provisional reference; holding the same key again returns the
	// entry already kept.
	Hold(ctx context.Context, nc *NewCase, office OfficeKey, clerk string) (*OfflineEntry, error)
	// Entries lists the entries in the state ("" all), oldest first.
	Entries(ctx context.Context, state OfflineState) ([]OfflineEntry, error)
	// TryEntry records, durably, that the waiting entry is about to be
	// sent; from then on Discard refuses it (ECONFLICT). ENOTFOUND: it
	// was discarded meanwhile (or is no longer waiting).
	TryEntry(ctx context.Context, key string) error
	// Written records the reference the shared store gave the entry.
	Written(ctx context.Context, key, finalRef string) error
	// Refused records why the shared store refused the entry.
	Refused(ctx context.Context, key, message string) error
	OfflineActions
}

// OfflineResult is what ReplayOffline did with one entry.
type OfflineResult struct {
	Entry   OfflineEntry
	Case    *Case // written (also when the store had it already)
	Created bool  // false: the store had it from an earlier, interrupted replay
	Err     error // refused (OfflineConflict)
}

// ReplayOffline writes the waiting entries to st (the clerk's scoped
// store), oldest first, each with its idempotency key and provisional
// reference (which then still finds the case). It stops at the first
// EUNAVAILABLE (the server went away again; the rest stays waiting) and
// returns that error with the results so far. A refusal (invalid, not
// allowed, a conflict) is recorded on the entry with its German message
// and the replay goes on. Each entry is marked as being sent (TryEntry)
// before it goes; one the clerk discarded after the listing is left out.
func ReplayOffline(ctx context.Context, ob OfflineOutbox, st CaseStore) ([]OfflineResult, error) {
	es, err := ob.Entries(ctx, OfflineWaiting)
	if err != nil {
		return nil, err
	}
	var out []OfflineResult
	for _, e := range es {
		if err := ob.TryEntry(ctx, e.Key); ErrorCode(err) == ENOTFOUND {
			continue // discarded by the clerk since the listing, not sent
		} else if err != nil {
			return out, err
		}
		nc := *e.Case
		nc.ProvisionalRef = e.ProvisionalRef
		c, created, err := st.CreateCase(ctx, &nc, nil)
		if err != nil {
			if retryLater(ctx, err) {
				return out, err
			}
			if rerr := ob.Refused(ctx, e.Key, ErrorMessage(err)); rerr != nil {
				return out, rerr
			}
			e.State, e.Message = OfflineConflict, ErrorMessage(err)
			out = append(out, OfflineResult{Entry: e, Err: err})
			continue
		}
		if err := ob.Written(ctx, e.Key, c.Ref); err != nil {
			return out, err
		}
		e.State, e.FinalRef = OfflineWritten, c.Ref
		out = append(out, OfflineResult{Entry: e, Case: c, Created: created})
	}
	return out, nil
}

// Offline changes to cases already shown: while the shared store cannot
// be reached, a clerk may still claim a case open in the window, change
// its status or add a note. The change is kept in the same outbox with
// what the clerk saw of the case (OfflineSeen), and replayed in order
// when the server is back (ReplayOfflineActions). A change that would go
// over another clerk's work made meanwhile is not applied but refused
// with a German message naming who did what; a note is added whenever
// the case is still visible (notes do not conflict).

// OfflineActionKind is what the clerk did.
type OfflineActionKind string

const (
	OfflineClaim  OfflineActionKind = "claim"
	OfflineStatus OfflineActionKind = "status"
	OfflineNote   OfflineActionKind = "note"
)

// OfflineSeen is the case as the window showed it when the clerk acted
// (pending offline changes included: a status change after an offline
// claim saw the case claimed by the clerk).
type OfflineSeen struct {
	Status    Status
	Assignee  string
	Office    OfficeKey
	UpdatedAt time.Time
}

// OfflineAction is a change to a case kept on this PC.
type OfflineAction struct {
	Key    string // random; the idempotency key of the change
	Kind   OfflineActionKind
	Ref    string
	Status Status // OfflineStatus: the new status
	Text   string // the reason of a status change, the note's text
	// Tell is the message to the citizen of a status change, as the clerk
	// saw and edited it in the message dialog; nil when the change tells
	// nothing (or the window has no outbox). The replay writes it with
	// the status, through OutboxStore.ChangeCase as the window online.
	Tell   *Tell
	Seen   OfflineSeen
	Clerk  string
	Name   string // the clerk's display name
	HeldAt time.Time
	// Tried is set just before the change is sent to the server, with
	// NoteMark the newest note id of the case then: a replay that finds
	// Tried set after a crash looks for the clerk's note above NoteMark
	// (or the status already set) instead of writing it again.
	Tried    bool
	NoteMark int64
	State    OfflineState
	Message  string // OfflineConflict: German, for the clerk
	DoneAt   time.Time
}

// What says in German what the change is ("Ihre Übernahme").
func (a *OfflineAction) What() string {
	switch a.Kind {
	case OfflineClaim:
		return "Ihre Übernahme"
	case OfflineStatus:
		return fmt.Sprintf("Ihre Statusänderung auf „%s“", a.Status.Label())
	default:
		return fmt.Sprintf("Ihre Notiz „%s“", a.Text)
	}
}

// NotDone says in German that the change was not made ("Ihre Übernahme
// wurde nicht ausgeführt"), and that its message to the citizen did not
// go either.
func (a *OfflineAction) NotDone() string {
	if a.Tell != nil {
		return a.What() + " wurde nicht ausgeführt und die Nachricht an den Bürger nicht verschickt"
	}
	return a.What() + " wurde nicht ausgeführt"
}

// OfflineActions is the part of the outbox that keeps changes to cases.
type OfflineActions interface {
	// HoldAction keeps a (its Key set, else one is chosen) and returns it
	// as kept.
	HoldAction(ctx context.Context, a *OfflineAction) (*OfflineAction, error)
	// Actions lists the kept changes in the state ("" all), in the order
	// they were made.
	Actions(ctx context.Context, state OfflineState) ([]OfflineAction, error)
	// TryAction records, durably, that the change is about to be sent.
	TryAction(ctx context.Context, key string, noteMark int64) error
	// ActionDone and ActionRefused settle a change.
	ActionDone(ctx context.Context, key string) error
	ActionRefused(ctx context.Context, key, message string) error
	// Discard deletes a kept application or change (the clerk chose
	// "Verwerfen" after being asked). A waiting application marked by
	// TryEntry or change marked by TryAction is refused (ECONFLICT,
	// German): it may be on the server. One discarded before TryEntry or
	// TryAction makes that (and the settling) return ENOTFOUND, and the
	// replay leaves it out.
	Discard(ctx context.Context, key string) error
}

// OfflineActionStore is what the replay of changes needs of the shared
// store: the case, its notes and who changed it (the audit log).
type OfflineActionStore interface {
	CaseStore
	AuditLog
}

// OfflineActionResult is what ReplayOfflineActions did with one change.
type OfflineActionResult struct {
	Action OfflineAction
	// Conflict: not applied (Action.Message says why). A note on a case
	// that is still visible is added anyway and is no conflict.
	Conflict bool
}

// ReplayOfflineActions sends the waiting changes of the clerk by.Clerk
// to st, in the order they were made; a status change goes through msgs
// (the clerk's outbox store, nil when the window has none) with its
// message to the citizen, as online. Each is checked against what the
// clerk saw: a case claimed by another clerk, moved to another status or
// forwarded meanwhile, or no longer visible, is a conflict (not applied,
// recorded with a German message naming who did it). A change found
// done already (by this clerk, in an earlier replay cut short) is
// recorded as done, not done twice. It stops at the first EUNAVAILABLE
// and returns it with the results so far.
func ReplayOfflineActions(ctx context.Context, ob OfflineActions, st OfflineActionStore, msgs OutboxStore, reg *Registry, by Actor) ([]OfflineActionResult, error) {
	as, err := ob.Actions(ctx, OfflineWaiting)
	if err != nil {
		return nil, err
	}
	var out []OfflineActionResult
	for _, a := range as {
		if a.Clerk != by.Clerk {
			continue // another clerk's, on this PC: waits for them
		}
		msg, err := replayAction(ctx, ob, st, msgs, reg, &a, by)
		if errors.Is(err, errDiscarded) {
			continue
		}
		if err != nil {
			if retryLater(ctx, err) {
				return out, err
			}
			msg = fmt.Sprintf("%s: %s", a.NotDone(), ErrorMessage(err))
		}
		if msg != "" {
			if err := ob.ActionRefused(ctx, a.Key, msg); ErrorCode(err) == ENOTFOUND {
				continue // discarded by the clerk meanwhile, not sent
			} else if err != nil {
				return out, err
			}
			a.State, a.Message = OfflineConflict, msg
			out = append(out, OfflineActionResult{Action: a, Conflict: true})
			continue
		}
		if err := ob.ActionDone(ctx, a.Key); ErrorCode(err) == ENOTFOUND {
			continue // found done without sending, and discarded meanwhile
		} else if err != nil {
			return out, err
		}
		a.State = OfflineWritten
		out = append(out, OfflineActionResult{Action: a})
	}
	return out, nil
}

// replayAction applies one change; a conflict is returned as its German
// message, an error of the store as error.
func replayAction(ctx context.Context, ob OfflineActions, st OfflineActionStore, msgs OutboxStore, reg *Registry, a *OfflineAction, by Actor) (string, error) {
	c, err := st.CaseByRef(ctx, a.Ref)
	if code := ErrorCode(err); code == ENOTFOUND || code == EFORBIDDEN {
		return fmt.Sprintf("Der Vorgang %s ist für Sie nicht mehr sichtbar (an eine andere Dienststelle weitergeleitet oder gelöscht); %s.", a.Ref, a.NotDone()), nil
	}
	if err != nil {
		return "", err
	}
	if a.Kind == OfflineNote {
		return "", replayNote(ctx, ob, st, a, by)
	}
	who := func(action string) string { return lastBy(ctx, st, a.Ref, action) }
	notDone := a.NotDone()
	switch {
	case a.Kind == OfflineClaim && c.Assignee == by.Clerk:
		return "", nil // claimed by this clerk already (an earlier replay)
	case a.Kind == OfflineStatus && a.Tried && c.Status == a.Status:
		// Sent before a crash and applied; its message with it (one
		// transaction, below), so none is queued again.
		return "", nil
	case c.Office != a.Seen.Office:
		return fmt.Sprintf("Der Vorgang %s wurde inzwischen von %s an %s weitergeleitet; %s.",
			a.Ref, who(ActionCaseForward), reg.OfficeName(c.Office), notDone), nil
	case c.Assignee != "" && c.Assignee != a.Seen.Assignee && c.Assignee != by.Clerk:
		return fmt.Sprintf("Der Vorgang %s wurde inzwischen von %s übernommen; %s.",
			a.Ref, who(ActionCaseClaim), notDone), nil
	case c.Status != a.Seen.Status:
		return fmt.Sprintf("Der Status des Vorgangs %s wurde inzwischen von %s auf „%s“ geändert; %s.",
			a.Ref, who(ActionCaseStatus), c.Status.Label(), notDone), nil
	}
	if a.Kind == OfflineStatus && a.Tell != nil && msgs == nil {
		return fmt.Sprintf("%s: dieses Fenster kann keine Nachricht an den Bürger senden. Bitte den Status im Vorgang erneut ändern.", notDone), nil
	}
	if err := tryAction(ctx, ob, a.Key, 0); err != nil {
		return "", err
	}
	if a.Kind == OfflineClaim {
		return "", st.Claim(ctx, a.Ref, by)
	}
	if msgs == nil {
		return "", st.SetStatus(ctx, a.Ref, a.Status, a.Text, by)
	}
	// The same path as the window online (ui caseView.change): the clerk
	// wrote the text in the message dialog, the store checks it, builds
	// the message (its id, sender, time) and queues it in the transaction
	// of the status change. Status and message are written together or
	// not at all, so the check of a crashed replay above (the status
	// already set) also finds the message sent. A status that tells and
	// comes without a message (kept by an older version) is refused here
	// like online (EINVALID), not written without telling the citizen.
	_, err = msgs.ChangeCase(ctx, a.Ref, CaseChange{Kind: ChangeStatus, Status: a.Status, Reason: a.Text}, a.Tell, by)
	return "", err
}

// replayNote adds the note unless an earlier, interrupted replay added it:
// then the clerk's note with the same text is there above the mark taken
// before it was sent.
func replayNote(ctx context.Context, ob OfflineActions, st OfflineActionStore, a *OfflineAction, by Actor) error {
	ns, err := st.Notes(ctx, a.Ref)
	if err != nil {
		return err
	}
	var mark int64
	for _, n := range ns {
		if a.Tried && n.ID > a.NoteMark && n.Kind == "note" && n.Author == by.Clerk && n.Text == a.Text {
			return nil
		}
		mark = max(mark, n.ID)
	}
	if err := tryAction(ctx, ob, a.Key, mark); err != nil {
		return err
	}
	return st.AddNote(ctx, a.Ref, a.Text, by)
}

// errDiscarded is a change the clerk discarded after the replay listed it
// and before it was marked as being sent: it is left out, not sent.
var errDiscarded = errors.New("offline change discarded")

// tryAction marks the change as being sent (ob.TryAction); a change no
// longer in the outbox was discarded.
func tryAction(ctx context.Context, ob OfflineActions, key string, noteMark int64) error {
	err := ob.TryAction(ctx, key, noteMark)
	if ErrorCode(err) == ENOTFOUND {
		return errDiscarded
	}
	return err
}

// lastBy names the clerk of the newest audit entry of the action on the
// case ("M. Becker"), "einer anderen Person" when the log does not say.
func lastBy(ctx context.Context, st AuditLog, ref, action string) string {
	es, err := st.AuditEntries(ctx, AuditFilter{Ref: ref, Action: action, Limit: 1})
	if err != nil || len(es) == 0 {
		return "einer anderen Person"
	}
	if es[0].Name != "" {
		return es[0].Name
	}
	return es[0].Clerk
}

// retryLater reports whether err is no refusal the clerk can act on: the
// server went away again, the replay was stopped, or a bug or a full disk
// on the server. The entry waits for the next try.
func retryLater(ctx context.Context, err error) bool {
	var ae *Error
	return Unavailable(err) || ctx.Err() != nil || !errors.As(err, &ae) || ae.Code == EINTERNAL
}
