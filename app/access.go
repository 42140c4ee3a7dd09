package app

import (
	"context"
	"strings"
	"time"
)

// Role is what a clerk may do. Role assignments live in the database and
// every change to them is audited.
type Role string

const (
	// RoleClerk works for one office: sees and changes that office's cases
	// (including those forwarded to it) and its appointments.
	RoleClerk Role = "clerk"
	// RoleLead leads an office: what a clerk may, plus the office's audit
	// log and the Art. 15 export for the office's cases.
	RoleLead Role = "lead"
	// RoleAdmin administers the installation: every office, roles,
	// configuration and catalog, audit log, purge, backups.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, weakest first.
var Roles = []Role{RoleClerk, RoleLead, RoleAdmin}

// Label returns the German name of the role.
func (r Role) Label() string {
	switch r {
	case RoleClerk:
		return "Sachbearbeitung"
	case RoleLead:
		return "Leitung"
	case RoleAdmin:
		return "Administration"
	}
	return string(r)
}

// ParseRole accepts the code or the German name ("sachbearbeitung",
// "leitung", "administration").
func ParseRole(s string) (Role, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, r := range Roles {
		if s == string(r) || s == strings.ToLower(r.Label()) {
			return r, nil
		}
	}
	return "", Errorf(EINVALID, "Unbekannte Rolle „%s“. Möglich sind: clerk (Sachbearbeitung), lead (Leitung), admin (Administration).", s)
}

// RoleAssignment gives a clerk (an OS account) a role in an office.
type RoleAssignment struct {
	Clerk     string    // OS account without domain, e.g. "mmueller"
	Role      Role      // clerk, lead, admin
	Office    OfficeKey // required for clerk and lead; optional for admin
	Name      string    // display name, optional
	UpdatedAt time.Time
	UpdatedBy string
}

// RoleStore keeps the role assignments. SetRole and RemoveRole are audited
// ("role.set", "role.remove", with the clerk's account as reference).
type RoleStore interface {
	RoleAssignments(ctx context.Context) ([]RoleAssignment, error)
	// RoleAssignment returns ENOTFOUND when the clerk has none.
	RoleAssignment(ctx context.Context, clerk string) (*RoleAssignment, error)
	SetRole(ctx context.Context, ra RoleAssignment, by Actor) error
	RemoveRole(ctx context.Context, clerk string, by Actor) error
}

// NormalizeClerk strips a Windows domain ("AMT\mmueller" → "mmueller")
// and folds the case, so that the account matches however it is typed.
func NormalizeClerk(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(s)
}

// CheckAssignment validates an assignment against the registry.
func CheckAssignment(reg *Registry, ra *RoleAssignment) error {
	ra.Clerk = NormalizeClerk(ra.Clerk)
	if ra.Clerk == "" || strings.ContainsAny(ra.Clerk, " \t/") {
		return &Error{Code: EINVALID, Field: "clerk", Message: "Bitte das Benutzerkonto (Anmeldename am PC, ohne Leerzeichen) angeben."}
	}
	if _, err := ParseRole(string(ra.Role)); err != nil {
		return err
	}
	if ra.Office != "" && reg.Office(ra.Office) == nil {
		return &Error{Code: EINVALID, Field: "office", Message: "Unbekannte Dienststelle „" + string(ra.Office) + "“ (kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell)."}
	}
	if ra.Office == "" && ra.Role != RoleAdmin {
		return &Error{Code: EINVALID, Field: "office", Message: "Sachbearbeitung und Leitung brauchen eine Dienststelle."}
	}
	return nil
}

// ResolveActor finds the role of the OS account clerk. While no role is
// assigned at all the installation is being set up: everyone acts as
// administrator (setup=true), so that the first administrator can be
// entered. Once one assignment exists, an account without one is refused
// (EFORBIDDEN).
func ResolveActor(ctx context.Context, rs RoleStore, clerk string) (a Actor, setup bool, err error) {
	clerk = NormalizeClerk(clerk)
	all, err := rs.RoleAssignments(ctx)
	if err != nil {
		return Actor{}, false, err
	}
	if len(all) == 0 {
		return Actor{Clerk: clerk, Role: RoleAdmin}, true, nil
	}
	for _, ra := range all {
		if ra.Clerk == clerk {
			return Actor{Clerk: clerk, Office: ra.Office, Role: ra.Role}, false, nil
		}
	}
	return Actor{}, false, Errorf(EFORBIDDEN, "Das Benutzerkonto „%s“ ist für Amtstresen nicht freigeschaltet. Bitte die IT (Administration) bitten, Ihnen eine Rolle zuzuweisen: amtstresen roles set %s clerk DIENSTSTELLE.", clerk, clerk)
}

// CanSee reports whether the actor may see a case or appointment of
// office o. Administrators see every office; clerks and leads their own
// office (cases forwarded to it are its cases). Cases whose office is not
// decided yet ("") belong to the Kreisverwaltung, the authority the
// citizen wrote to, until they are routed.
func (a Actor) CanSee(o OfficeKey) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleClerk, RoleLead:
		if a.Office == "" {
			return false
		}
		return o == a.Office || (o == "" && a.Office == OfficeKreis)
	}
	return false
}

// VisibleOffices returns the offices whose cases the actor sees; nil means
// all (administrator).
func (a Actor) VisibleOffices() []OfficeKey {
	switch {
	case a.Role == RoleAdmin:
		return nil
	case a.Office == OfficeKreis:
		return []OfficeKey{OfficeKreis, ""}
	case a.Office != "":
		return []OfficeKey{a.Office}
	}
	return []OfficeKey{}
}

// Is reports whether the actor has at least role r.
func (a Actor) Is(r Role) bool {
	rank := func(x Role) int {
		for i, y := range Roles {
			if x == y {
				return i + 1
			}
		}
		return 0
	}
	return rank(a.Role) >= rank(r) && rank(r) > 0
}

// Forbidden is the error for an action the role does not allow.
func Forbidden(what string) error {
	return Errorf(EFORBIDDEN, "%s ist Ihrer Rolle nicht erlaubt. Bitte wenden Sie sich an die Leitung oder die IT.", what)
}
