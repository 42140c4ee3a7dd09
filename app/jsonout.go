package app

import "time"

// CaseJSON is the machine-readable form of a case (`amtstresen cases --json`).
// The field set is fixed by contract; see README.
type CaseJSON struct {
	Ref         string           `json:"ref"`
	PortalCase  string           `json:"portal_case"`
	Service     string           `json:"service"`
	Office      string           `json:"office"`
	Status      string           `json:"status"`
	Flags       []string         `json:"flags"`
	Attachments []AttachmentJSON `json:"attachments"`
	ReceivedAt  string           `json:"received_at"`
}

// AttachmentJSON is one attachment in CaseJSON.
type AttachmentJSON struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// NewCaseJSON converts a case.
func NewCaseJSON(c *Case) CaseJSON {
	j := CaseJSON{Ref: c.Ref, PortalCase: c.PortalCase, Service: c.Service, Office: string(c.Office),
		Status: string(c.Status), Flags: []string{}, Attachments: []AttachmentJSON{},
		ReceivedAt: c.ReceivedAt.In(Berlin).Format(time.RFC3339)}
	for _, f := range c.Flags {
		j.Flags = append(j.Flags, string(f))
	}
	for _, a := range c.Attachments {
		j.Attachments = append(j.Attachments, AttachmentJSON{Name: a.Name, Size: a.Size, SHA256: a.SHA256})
	}
	return j
}
